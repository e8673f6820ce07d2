// `npm run graph`: a summary of the app's import graph (electron/, shared/, renderer/) as dependency-cruiser
// sees it with .dependency-cruiser.cjs: module and import counts, cycles through value imports (the rules
// forbid them, so 0), and the cycles that exist only through `import type` (erased at build time).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The package exports only its API (src/main/index.mjs); its CLI sits two folders up.
const bin = fileURLToPath(new URL('../../bin/dependency-cruise.mjs', import.meta.resolve('dependency-cruiser')));
const roots = ['electron', 'shared', 'renderer'];
const json = execFileSync(
  process.execPath,
  [bin, ...roots, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
  {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  },
);
const { modules } = JSON.parse(json);

const local = modules.filter((m) => /^(electron|shared|renderer)\//.test(m.source));
const isLocal = new Set(local.map((m) => m.source));
/** Edges between our own modules; `typeOnly` when every import of that pair is `import type`. */
const edges = local.flatMap((m) =>
  m.dependencies
    .filter((d) => isLocal.has(d.resolved))
    .map((d) => ({ from: m.source, to: d.resolved, typeOnly: d.dependencyTypes.includes('type-only') })),
);

/** Strongly connected components with more than one module (Tarjan), i.e. the import cycles. */
function cycles(edgeList) {
  const next = new Map();
  for (const e of edgeList) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  let counter = 0;
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) out.push(scc.sort());
  };
  for (const m of isLocal) if (!index.has(m)) visit(m);
  return out;
}

const valueCycles = cycles(edges.filter((e) => !e.typeOnly));
const allCycles = cycles(edges);
const byLayer = (prefix) => local.filter((m) => m.source.startsWith(prefix)).length;

console.log(
  `modules:            ${local.length} (electron/kernel ${byLayer('electron/kernel/')}, electron/host ${byLayer('electron/host/')}, ` +
    `shell ${local.filter((m) => /^electron\/[^/]+$/.test(m.source)).length}, shared ${byLayer('shared/')}, renderer ${byLayer('renderer/')})`,
);
console.log(`imports:            ${edges.length} between them (${edges.filter((e) => e.typeOnly).length} type-only)`);
console.log(`cycles:             ${valueCycles.length} through value imports`);
console.log(`type-only cycles:   ${allCycles.length} strongly connected group(s) that some \`import type\` closes`);
for (const scc of allCycles) console.log(`  - ${scc.length} modules: ${scc.join(', ')}`);
for (const scc of valueCycles) console.log(`  ! value cycle: ${scc.join(', ')}`);
process.exit(valueCycles.length === 0 ? 0 : 1);
