// The DynamoDB-compatible server of the store tests: dynalite (in memory)
// on an ephemeral loopback port, written to the file named by argv[2] once
// it listens. It exits when its stdin closes, so it never outlives the test
// process that started it.
'use strict';
const fs = require('fs');
const path = require('path');
const dynalite = require(path.join(__dirname, '..', 'emulators', 'node_modules', 'dynalite'));
const server = dynalite({createTableMs: 1, updateTableMs: 1, deleteTableMs: 1});
server.listen(0, '127.0.0.1', () => {
  const tmp = process.argv[2] + '.tmp';
  fs.writeFileSync(tmp, String(server.address().port) + '\n');
  fs.renameSync(tmp, process.argv[2]);
});
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
