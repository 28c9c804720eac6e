// One log line per significant registry event (register, cancel, eviction, status change); heartbeats only at debug.
import { RegistryEvent } from '../domain/registry';
import { unreachable } from '../domain/unreachable';
import { Logger } from './logger';

/** A registry listener that logs events with structured fields. */
export function registryEventLogger(logger: Logger): (event: RegistryEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'registered': {
        const i = event.view.record.instance;
        const fields = { app: i.app, id: i.id, status: i.status, replication: event.isReplication };
        // A peer's copy of an instance already held (its re-registration, the second peer's copy during startup sync)
        // says nothing new here: the server that took the change logged it.
        if (!event.isNew && event.isReplication) logger.debug('re-registered', fields);
        else logger.info(event.isNew ? 'registered' : 're-registered', fields);
        break;
      }
      case 'cancelled':
        logger.info('cancelled', { app: event.view.record.instance.app, id: event.view.record.instance.id, replication: event.isReplication });
        break;
      case 'evicted': {
        const v = event.view;
        logger.info('evicted', { app: v.record.instance.app, id: v.record.instance.id, lastRenewal: new Date(v.lastRenewalTimestamp).toISOString() });
        break;
      }
      case 'status-updated':
      case 'status-override-deleted': {
        const i = event.view.record.instance;
        const message = event.type === 'status-updated' ? 'status override set' : 'status override removed';
        logger.info(message, { app: i.app, id: i.id, from: event.previous, to: i.status, replication: event.isReplication });
        break;
      }
      case 'health-changed':
        // Logged by the health checks, with the probe's result.
        break;
      case 'metadata-updated':
        logger.info('metadata updated', { app: event.view.record.instance.app, id: event.view.record.instance.id });
        break;
      case 'renewed':
        if (logger.debugEnabled) logger.debug('renewed', { app: event.app, id: event.id, replication: event.isReplication });
        break;
      default:
        unreachable(event);
    }
  };
}
