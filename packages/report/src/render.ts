import { type Chart, CONFIG } from './charts.js';

interface VegaModules {
  readonly vega: typeof import('vega');
  readonly compile: typeof import('vega-lite').compile;
}

let modules: Promise<VegaModules> | undefined;

/** Vega-Lite's warnings are about our specs, not the user's run: they go nowhere. */
interface QuietLogger {
  level(): number;
  error(...args: readonly unknown[]): never;
  warn(): QuietLogger;
  info(): QuietLogger;
  debug(): QuietLogger;
}
const quiet: QuietLogger = {
  level: () => 0,
  error: (...args) => {
    throw new Error(args.map(String).join(' '));
  },
  warn: () => quiet,
  info: () => quiet,
  debug: () => quiet,
};

/** Vega and Vega-Lite, loaded on the first render (registering the plugin costs nothing). */
function load(): Promise<VegaModules> {
  modules ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => ({
    vega,
    compile: vl.compile,
  }));
  return modules;
}

/**
 * Compile a chart's Vega-Lite spec to Vega and render it headless to an SVG string with Vega's
 * view API (no DOM, no canvas: text widths are estimated, which is what Vega does in Node).
 */
export async function renderSvg(chart: Chart): Promise<string> {
  const { vega, compile } = await load();
  const spec = { ...chart.spec, config: CONFIG } as Parameters<typeof compile>[0];
  const compiled = compile(spec, { logger: quiet }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
