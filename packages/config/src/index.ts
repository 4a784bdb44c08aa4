export {
  type AuthConfig,
  type Config,
  ConfigError,
  DEFAULT_CONFIG_FILE,
  DEFAULTS,
  type LimitsConfig,
  LOG_LEVELS,
  type LoadConfigOptions,
  type LogConfig,
  type LogLevel,
  loadConfig,
  type PathsConfig,
  type PortsConfig,
  type TlsConfig,
} from './config.js';
export { parseYaml, YamlSyntaxError, type YamlValue } from './yaml.js';
