/**
 * How this node's registry mirror reaches pull-through (edge/oci/pull-through-serve.ts): a
 * member asks the root over its root link; the root asks its own PullThrough directly, as a
 * member with its own attributes. Undefined when there is nothing to ask (a root without
 * upstreams): the mirror then answers a miss with 404 at once.
 */
import type { AskRoot, PullAnswer } from '../edge/oci/pull-through-serve.js';
import type { PullThrough } from '../root/pull-through.js';
import type { Self } from './admission.js';
import type { RootLink } from './root-link.js';

export function askRoot(rootLink: RootLink | undefined, pullThrough: PullThrough | undefined, self: () => Self): AskRoot | undefined {
  if (rootLink) {
    return async (q) => {
      const { header, payload } = await rootLink.ociPull(q);
      return { answer: header as unknown as PullAnswer, payload };
    };
  }
  if (!pullThrough) return undefined;
  return async (q) => {
    const { body, payload } = await pullThrough.answer(self(), q);
    return { answer: body, payload: payload ?? Buffer.alloc(0) };
  };
}
