// The keopsc VS Code extension: starts `keopsc lsp --stdio` for .keo files (plain CommonJS, no build step).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

/** The keopsc command: the `keopsc.path` setting, the workspace's local install, or `keopsc` on the PATH. */
function keopscCommand() {
  const configured = vscode.workspace.getConfiguration('keopsc').get('path');
  if (configured) return configured;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const local = path.join(folder.uri.fsPath, 'node_modules', '.bin', process.platform === 'win32' ? 'keopsc.cmd' : 'keopsc');
    if (fs.existsSync(local)) return local;
    const self = path.join(folder.uri.fsPath, 'bin', 'keopsc.js'); // a checkout of keopsc itself
    if (fs.existsSync(self) && fs.existsSync(path.join(folder.uri.fsPath, 'dist', 'src', 'cli', 'main.js'))) return self;
  }
  return 'keopsc';
}

function activate(context) {
  const command = keopscCommand();
  const run = command.endsWith('.js') ? { command: process.execPath, args: [command, 'lsp', '--stdio'] } : { command, args: ['lsp', '--stdio'] };
  client = new LanguageClient(
    'keopsc',
    'keopsc',
    { run, debug: run },
    { documentSelector: [{ language: 'keo' }], outputChannelName: 'keopsc' },
  );
  context.subscriptions.push(client);
  client.start().catch((e) => {
    vscode.window.showErrorMessage(`keopsc: could not start the language server (${command} lsp --stdio): ${e.message}. Install keopsc (npm install keopsc) or set keopsc.path.`);
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
