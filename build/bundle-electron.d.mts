/** Types for bundle-electron.mjs, so TypeScript callers (the tests) get checked calls. */
export declare const ENTRIES: Record<'main' | 'preload' | 'host-worker', string>;
export type Entry = keyof typeof ENTRIES;
export declare function requiredModules(code: string): string[];
export declare function checkRequires(file: string, entry: string): Promise<void>;
export declare function bundleElectron(options?: {
  root?: string;
  outDir?: string;
  entries?: string[];
}): Promise<string[]>;
