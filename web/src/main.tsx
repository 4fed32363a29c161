// The web app: the dashboard at / and the publishing page at /publish, one bundle.
import { render } from 'preact';
import { Dashboard } from './dashboard/Dashboard';
import { PublishPage } from './publish/PublishPage';
import './styles.css';

function App() {
  const onPublish = location.pathname.startsWith('/publish');
  return (
    <div class="app">
      <header>
        <h1>Canopy</h1>
        <nav>
          <a href="/" class={onPublish ? '' : 'active'}>Dashboard</a>
          <a href="/publish" class={onPublish ? 'active' : ''}>Publish</a>
        </nav>
      </header>
      <main>{onPublish ? <PublishPage /> : <Dashboard />}</main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
