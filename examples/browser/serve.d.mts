import type { Server } from 'node:http';
/** Serve the files under `dir` on http://host:port (port 0: a free one). */
export function serve(options: { dir: string; port?: number; host?: string }): Promise<{ url: string; port: number; server: Server }>;
