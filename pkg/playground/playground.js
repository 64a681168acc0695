// The playground: an MCP client's OAuth 2.1 journey, one step at a time,
// with every request and response shown. The authorization server is either
// the package's WebAssembly provider running in this page (on
// InMemoryStorage; requests are Request objects handed to provider.fetch,
// never sent) or a server the user names (reached with fetch; its consent
// page opens in a popup that returns through callback.html).
import { STEPS } from './steps.js';
import { inPageServer, remoteServer } from './servers.js';
import { $, StepError } from './util.js';
import { stepView } from './view.js';

async function main() {
  const ctx = { server: null };
  const views = STEPS.map((definition) => ({ definition, view: stepView(definition, ctx) }));
  $('#steps').append(...views.map(({ view }) => view.node));
  const engine = $('#engine');
  let busy = false;

  async function connect() {
    ctx.server?.stop();
    for (const key of Object.keys(ctx)) if (key !== 'server') delete ctx[key];
    for (const { view } of views) view.reset();
    const mode = $('input[name=mode]:checked').value;
    engine.textContent = 'loading…';
    ctx.server = mode === 'in-page' ? await inPageServer() : remoteServer($('#server-url').value);
    engine.textContent = `ready: ${ctx.server.label}`;
    engine.dataset.ready = mode;
  }

  async function runStep({ definition, view }) {
    view.reset();
    view.setState('running', 'running');
    try {
      const summary = await definition.run(ctx, view);
      view.summary.textContent = summary;
      view.setState('done', 'done');
      return true;
    } catch (error) {
      view.summary.textContent = error instanceof StepError ? error.message : `${error.name}: ${error.message}`;
      view.setState('failed', 'failed');
      if (!(error instanceof StepError)) console.error(error);
      return false;
    }
  }

  const exclusive = (action) => async () => {
    if (busy) return;
    busy = true;
    try {
      await action();
    } finally {
      busy = false;
    }
  };

  for (const entry of views) entry.view.button.addEventListener('click', exclusive(() => runStep(entry)));
  $('#run-all').addEventListener(
    'click',
    exclusive(async () => {
      await connect();
      for (const entry of views) if (!(await runStep(entry))) break;
    }),
  );
  $('#reset').addEventListener('click', exclusive(connect));
  for (const input of document.querySelectorAll('input[name=mode], #server-url')) input.addEventListener('change', exclusive(connect));
  await connect();
}

main().catch((error) => {
  $('#engine').textContent = `could not start: ${error.message}`;
  console.error(error);
});
