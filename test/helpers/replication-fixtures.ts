// Shared pieces of the replication tests: tasks, instance views and a logger that keeps what it is told.
import { ManualClock } from '../../src/domain/clock';
import { InstanceInfo, InstanceView } from '../../src/domain/model';
import { LogFields, Logger } from '../../src/observability/logger';
import { PeerTask, TaskPayload } from '../../src/replication/peer-node';
import { ReplicationAction } from '../../src/replication/protocol';
import { makeInstance } from './instances';

export const TASK_EXPIRY_MS = 30_000;

/** A task for instance `id` of ORDERS queued now, expiring TASK_EXPIRY_MS later. */
export function peerTask(clock: ManualClock, action: ReplicationAction, id: string, payload: TaskPayload = {}, app = 'ORDERS', expiryMs = TASK_EXPIRY_MS): PeerTask {
  const now = clock.now();
  return { action, app, id, payload, queuedAt: now, expiresAt: now + expiryMs };
}

/** A registered-looking view of an instance (record written at `at`). */
export function viewOf(instance: InstanceInfo = makeInstance(), at = 1_700_000_000_000): InstanceView {
  return {
    record: {
      instance,
      statusSource: 'client',
      actionType: 'ADDED',
      lastUpdatedTimestamp: at,
      registrationTimestamp: at,
      serviceUpTimestamp: at,
      evictionTimestamp: 0,
      revision: 1,
    },
    lastRenewalTimestamp: at,
  };
}

export interface LogLine {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
  readonly fields?: LogFields;
}

/** A Logger that records its lines. */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  readonly debugEnabled = true;
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', message, fields });
  }
  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  messages(level?: LogLine['level']): string[] {
    return this.lines.filter((l) => !level || l.level === level).map((l) => l.message);
  }
}
