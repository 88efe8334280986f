/** `ctx.retry(options)`: the Retry a task throws to ask for another attempt (Celery's `self.retry`). */
import { OptionError, Retry, show } from '../errors.js';
import type { RetryOptions } from './context.js';
import { toMs } from './timing.js';

export function retryRequest(options: RetryOptions = {}, now = Date.now()): Retry {
  const { countdown, eta, maxRetries } = options;
  if (countdown !== undefined && eta !== undefined) throw new OptionError('ctx.retry: give countdown or eta, not both');
  if (countdown !== undefined && (typeof countdown !== 'number' || !Number.isFinite(countdown) || countdown < 0)) {
    throw new OptionError(`ctx.retry: countdown must be a non-negative number of seconds, got ${show(countdown)}`);
  }
  if (maxRetries !== undefined && (!Number.isInteger(maxRetries) || maxRetries < 0)) {
    throw new OptionError(`ctx.retry: maxRetries must be a non-negative integer, got ${show(maxRetries)}`);
  }
  const countdownMs = countdown !== undefined ? countdown * 1000 : eta !== undefined ? Math.max(0, toMs(eta, 'ctx.retry eta') - now) : undefined;
  const exc = options.exc ?? options.error;
  return new Retry(exc ? `retry requested: ${exc.message}` : 'retry requested', countdownMs, {
    ...(exc ? { cause: exc } : {}),
    ...(maxRetries !== undefined ? { maxRetries } : {}),
  });
}
