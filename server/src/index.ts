/**
 * @glmedsa/server: start the companion server from code (the `glmedsa-server` command does the
 * same from a file and the environment). The browser-safe v1 contract is `@glmedsa/server/api`.
 */
export { startServer, type RunningServer, type StartOptions } from './server.js';
export { ConfigError, ENV_VARS, loadConfig } from './config/load.js';
export { ServerConfigSchema, type ServerConfig, type ServerConfigInput } from './config/schema.js';
