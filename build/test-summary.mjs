// Reads Vitest's JSON reports (one or more runs) and prints CI's closing line: "N passed, N failed[, N skipped]".
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`test-summary: cannot read ${file}: ${e.message}`);
    process.exit(1);
  }
  passed += report.numPassedTests ?? 0;
  // Suites that failed to load count as failures too, so a broken file cannot pass silently.
  failed +=
    (report.numFailedTests ?? 0) +
    (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
