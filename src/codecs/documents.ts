// One entry point for the Eureka documents in either wire format, so callers pick a format once.
import { InstanceView } from '../domain/model';
import { DecodeDefaults, DecodedInstance } from './instance-decoder';
import * as json from './json';
import { Format } from './negotiate';
import { Pieces } from './record-fragments';
import * as xml from './xml';

/** Encoders and the registration decoder of one wire format. Documents come as pieces: bytes or text at will. */
export interface DocumentCodec {
  applications(apps: Iterable<readonly [string, Iterable<InstanceView>]>, versionsDelta: number, hashcode: string): Pieces;
  application(name: string, views: Iterable<InstanceView>): Pieces;
  instance(view: InstanceView): string;
  decodeInstance(body: string, defaults: DecodeDefaults): DecodedInstance;
}

/** The codec per format. */
export const CODECS: Readonly<Record<Format, DocumentCodec>> = {
  json: {
    applications: json.applicationsPiecesJson,
    application: json.applicationPiecesJson,
    instance: json.instanceDocumentJson,
    decodeInstance: json.decodeInstanceJson,
  },
  xml: {
    applications: xml.applicationsPiecesXml,
    application: xml.applicationPiecesXml,
    instance: xml.instanceDocumentXml,
    decodeInstance: xml.decodeInstanceXml,
  },
};
