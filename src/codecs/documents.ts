// One entry point for the Eureka documents in either wire format, so callers pick a format once.
import { InstanceView } from '../domain/model';
import { DecodeDefaults, DecodedInstance } from './instance-decoder';
import * as json from './json';
import { Format } from './negotiate';
import { ApplicationPart, Pieces } from './record-fragments';
import * as xml from './xml';

/** Encoders and the registration decoder of one wire format. Documents come as pieces: bytes or text at will. */
export interface DocumentCodec {
  applications(apps: Iterable<readonly [string, Iterable<InstanceView>]>, versionsDelta: number, hashcode: string): Pieces;
  /** The `applications` document in parts, as `applications` assembles it: head, applications joined by the separator, tail. */
  readonly applicationsHead: (versionsDelta: number, hashcode: string) => string;
  readonly applicationsTail: string;
  /** ASCII; empty when applications follow one another as they are. */
  readonly applicationSeparator: string;
  /** Appends one application; `remember` false: records' encodings are not kept (see SplicedEncoder.write). */
  writeApplication(out: Pieces, name: string, views: Iterable<InstanceView>, remember?: boolean): void;
  /** Appends a run of an application's instances (see writeApplicationPartJson); the runs in order are the application. */
  writeApplicationPart(out: Pieces, name: string, views: Iterable<InstanceView>, part: ApplicationPart, remember?: boolean): void;
  application(name: string, views: Iterable<InstanceView>): Pieces;
  instance(view: InstanceView): string;
  decodeInstance(body: string, defaults: DecodeDefaults): DecodedInstance;
}

/** The codec per format. */
export const CODECS: Readonly<Record<Format, DocumentCodec>> = {
  json: {
    applications: json.applicationsPiecesJson,
    applicationsHead: json.applicationsHeadJson,
    applicationsTail: json.APPLICATIONS_TAIL_JSON,
    applicationSeparator: json.APPLICATION_SEPARATOR_JSON,
    writeApplication: json.writeApplicationJson,
    writeApplicationPart: json.writeApplicationPartJson,
    application: json.applicationPiecesJson,
    instance: json.instanceDocumentJson,
    decodeInstance: json.decodeInstanceJson,
  },
  xml: {
    applications: xml.applicationsPiecesXml,
    applicationsHead: xml.applicationsHeadXml,
    applicationsTail: xml.APPLICATIONS_TAIL_XML,
    applicationSeparator: '',
    writeApplication: xml.writeApplicationXml,
    writeApplicationPart: xml.writeApplicationPartXml,
    application: xml.applicationPiecesXml,
    instance: xml.instanceDocumentXml,
    decodeInstance: xml.decodeInstanceXml,
  },
};
