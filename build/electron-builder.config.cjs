/**
 * electron-builder configuration: `npm run dist` (after `npm run build`).
 * The app ships only bundles — dist-electron/*.cjs (main, preload, host worker) and the Vite build
 * of the renderer — so no node_modules go into the package.
 */
const path = require('node:path');

// The Electron binary is not downloaded in every environment (CI, this repo's dev boxes), so the
// version comes from the installed npm package rather than from electron-builder probing it.
const electronVersion = require(path.join(__dirname, '..', 'node_modules', 'electron', 'package.json')).version;

/** @type {import('electron-builder').Configuration} */
module.exports = {
  appId: 'dev.kholab.app',
  productName: 'KHO Lab',
  electronVersion,
  directories: { output: 'release', buildResources: 'build' },
  files: ['dist-electron/**', 'dist/renderer/**', 'package.json', '!**/node_modules/**'],
  // Everything is bundled; nothing native to rebuild.
  npmRebuild: false,
  nodeGypRebuild: false,
  buildDependenciesFromSource: false,
  asar: true,
  // Electron's fuses, flipped in the packaged binary (Electron security checklist): it cannot be
  // run as plain Node, takes no NODE_OPTIONS or --inspect, loads only app.asar and checks its
  // integrity (enforced on macOS and Windows; Linux has no embedded check yet), encrypts cookies,
  // and gives file: no extra privileges (the renderer comes from app://, electron/app-protocol.ts).
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
    // Flipping fuses breaks a macOS arm64 ad-hoc signature; re-sign so an unsigned build still starts.
    resetAdHocDarwinSignature: true,
  },
  icon: 'build/icon.png',
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Development',
    // package.json's author.
    maintainer: 'KHO Lab developers',
    synopsis: 'Simulates Linux Kexec HandOver, page by page',
    description:
      'A desktop lab that simulates Linux Kexec HandOver (KHO) and the Live Update Orchestrator, page by page.',
    executableName: 'kho-lab',
  },
  mac: {
    target: ['dmg'],
    category: 'public.app-category.developer-tools',
  },
  win: {
    target: ['nsis'],
  },
};
