import { print, run } from './sandbox.bench.js';
console.log(print(await run({ runs: 10, rounds: 3 })));
