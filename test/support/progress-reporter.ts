/**
 * A `node:test` reporter that prints one line per finished test (not per suite) as soon as it ends:
 * `progress: ✔ name (1.2 s)`. `npm test` runs it next to the spec reporter with stderr as its
 * destination, which `test/run.ts` passes through live, so every finished test shows at once even though
 * a file's spec report is printed as one block when the file ends.
 *
 * @example
 * // node --test-reporter=spec --test-reporter-destination=stdout \
 * //   --test-reporter=./test/support/progress-reporter.ts --test-reporter-destination=stderr test/x.test.ts
 */
interface TestEvent {
  type: string;
  data: { name: string; nesting: number; details?: { type?: string; duration_ms?: number } };
}

export default async function* progressReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    const seconds = ((event.data.details?.duration_ms ?? 0) / 1000).toFixed(1);
    yield `progress: ${event.type === 'test:pass' ? '✔' : '✖'} ${event.data.name} (${seconds} s)\n`;
  }
}
