/**
 * A rank of test/launch.test.ts that says when it is ready, then waits to be stopped and says which signal stopped
 * it.
 */
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    console.log(`stopped by ${signal}`);
    process.exit(0);
  });
}
console.log('ready');
setTimeout(() => {}, 600_000);
