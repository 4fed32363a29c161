/**
 * The fenced blocks of a Markdown document, for the tests that run docs as written
 * (docs/DEPLOY.md, docs/ORIGINS.md): each block's language, its tag (the word after the
 * language, ```sh root), the section it is in and its text, in document order. Tests take
 * the commands from the document at run time, so a doc cannot drift from what works.
 */
export interface DocBlock {
  lang: string;
  /** The word after the language (DEPLOY.md's host), or ''. */
  tag: string;
  /** What `section` captured from the last heading it matched ('' before any). */
  section: string;
  text: string;
}

/** `section` is matched against each line; its first group names the section (default: any `## ` heading's text). */
export function docBlocks(doc: string, section: RegExp = /^## (.+)$/): DocBlock[] {
  const out: DocBlock[] = [];
  let current = '';
  let open: DocBlock | undefined;
  for (const line of doc.split('\n')) {
    if (open) {
      if (line !== '```') open.text += `${line}\n`;
      else {
        out.push(open);
        open = undefined;
      }
      continue;
    }
    const heading = section.exec(line);
    if (heading) current = heading[1]!;
    const fence = /^```(\S*)[ \t]*(\S*)/.exec(line);
    if (fence) open = { lang: fence[1]!, tag: fence[2]!, section: current, text: '' };
  }
  return out;
}
