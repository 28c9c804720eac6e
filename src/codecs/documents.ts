// One entry point for the Eureka documents in either wire format, so callers pick a format once.
import { InstanceView } from '../domain/model';
import { DecodeDefaults, DecodedInstance } from './instance-decoder';
import * as json from './json';
import { Format } from './negotiate';
import * as xml from './xml';

/** Encoders and the registration decoder of one wire format. */
export interface DocumentCodec {
  applications(apps: Iterable<readonly [string, Iterable<InstanceView>]>, versionsDelta: number, hashcode: string): string;
  application(name: string, views: Iterable<InstanceView>): string;
  instance(view: InstanceView): string;
  decodeInstance(body: string, defaults: DecodeDefaults): DecodedInstance;
}

/** The codec per format. */
export const CODECS: Readonly<Record<Format, DocumentCodec>> = {
  json: {
    applications: json.applicationsDocumentJson,
    application: json.applicationDocumentJson,
    instance: json.instanceDocumentJson,
    decodeInstance: json.decodeInstanceJson,
  },
  xml: {
    applications: xml.applicationsDocumentXml,
    application: xml.applicationDocumentXml,
    instance: xml.instanceDocumentXml,
    decodeInstance: xml.decodeInstanceXml,
  },
};
