import { errorMessage } from './error-codes.ts';

/**
 * Malformed or unexpected input from the network (or a peer that is not a SoftEther server).
 * Thrown by the decoders instead of letting a bad byte crash the process; the caller closes the
 * connection and, for a cascade, retries later.
 */
export class ProtocolError extends Error {
  readonly layer: 'pack' | 'http' | 'tunnel' | 'handshake';

  constructor(layer: ProtocolError['layer'], message: string) {
    super(`${layer}: ${message}`);
    this.name = 'ProtocolError';
    this.layer = layer;
  }
}

/** The server understood us and said no: a Pack carrying a non-zero `error`. */
export class ServerError extends Error {
  readonly code: number;

  constructor(code: number) {
    super(errorMessage(code));
    this.name = 'ServerError';
    this.code = code;
  }
}
