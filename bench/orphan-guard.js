'use strict';
// Preloaded (`node -r bench/orphan-guard.js ...`) into every server the benchmark starts, so that no server outlives
// the harness: run.js holds the write end of the child's stdin, and the kernel closes it however the harness ends
// (even SIGKILL, which no exit handler sees). An idle pipe read costs the server nothing while it is measured.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
// Don't let the guard alone keep a server alive that wants to exit.
if (typeof process.stdin.unref === 'function') process.stdin.unref();
