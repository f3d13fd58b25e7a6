// Loaded first by mocha (.mocharc.json `require`): the IR verifier runs after every stage of the
// pipeline in every test (src/ir/verify.ts, src/lower/verify.ts), and in the CLIs the tests spawn.
process.env.KEOPSC_VERIFY ??= '1';
