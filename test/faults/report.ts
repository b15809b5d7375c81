// Every fault scenario reports its figures as one row; `npm run test:faults` prints the rows as a table.
// Rows go to the file named by GATEHOUSE_FAULTS_REPORT (set by the runner); without it they are dropped.
import { appendFileSync } from 'node:fs';

export interface FaultRow {
  /** short name, led by its number in the README's "Reliability" list, e.g. "4 PostgreSQL restart under load" */
  scenario: string;
  result: 'pass' | 'fail';
  requests: number;
  successes: number;
  fiveXx: number;
  /** seconds from the fault's end to the first good answer, when the scenario has a recovery */
  recoverySeconds?: number;
  note?: string;
}

export function reportRow(row: FaultRow): void {
  const file = process.env.GATEHOUSE_FAULTS_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}
