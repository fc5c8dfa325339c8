import { Logger, type LoggerService } from '@nestjs/common';

/** One line a {@link RecordingLogger} received. */
export interface LoggedLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context: string | undefined;
}

/**
 * A LoggerService that keeps every line, for asserting what the library logged. Install it
 * with {@link RecordingLogger.install} (Nest's static logger) and {@link RecordingLogger.restore}.
 */
export class RecordingLogger implements LoggerService {
  readonly lines: LoggedLine[] = [];
  private static previous: LoggerService | undefined;

  static install(): RecordingLogger {
    const recorder = new RecordingLogger();
    RecordingLogger.previous ??= (
      Logger as unknown as { staticInstanceRef: LoggerService }
    ).staticInstanceRef;
    Logger.overrideLogger(recorder);
    return recorder;
  }

  static restore(): void {
    if (RecordingLogger.previous) Logger.overrideLogger(RecordingLogger.previous);
  }

  /** Lines of one level whose message matches. */
  find(level: LoggedLine['level'], pattern: RegExp): LoggedLine[] {
    return this.lines.filter((line) => line.level === level && pattern.test(line.message));
  }

  log(message: unknown, context?: string): void {
    this.record('log', message, context);
  }
  error(message: unknown, _trace?: string, context?: string): void {
    this.record('error', message, context);
  }
  warn(message: unknown, context?: string): void {
    this.record('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.record('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.record('verbose', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.record('fatal', message, context);
  }

  private record(level: LoggedLine['level'], message: unknown, context: string | undefined): void {
    this.lines.push({ level, message: String(message), context });
  }
}
