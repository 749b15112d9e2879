/** DOCKER_HOST: its default and the one parser (config validation, client, discovery). */
import { AppError } from "../core/errors.ts";

export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/** Only unix sockets: `unix:///absolute/path`; group 1 is the socket path. */
export const DOCKER_HOST_PATTERN = /^unix:\/\/(\/\S+)$/;

/**
 * Validates DOCKER_HOST and returns the socket path.
 * @throws AppError invalid_input for anything but `unix:///absolute/path`.
 */
export function parseDockerHost(dockerHost: string): string {
  const m = DOCKER_HOST_PATTERN.exec(dockerHost.trim());
  if (!m || m[1].length < 2) {
    throw new AppError(
      "invalid_input",
      `DOCKER_HOST "${dockerHost}" is not supported: only unix:///path/to/docker.sock is`,
      { hint: "Set DOCKER_HOST to the engine's unix socket, e.g. unix:///var/run/docker.sock" },
    );
  }
  return m[1];
}
