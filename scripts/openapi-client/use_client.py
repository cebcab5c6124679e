"""Uses the client openapi-python-client generated from Tend's OpenAPI
document against the real API with the demo data (scripts/test-openapi-clients.sh
runs it): a nurse signs in, lists facilities and patients, admits a patient
and reads a resident's records; an unknown patient answers the documented
404 ErrorBody. Every answer is parsed by the generated models, so a response
that does not match the document fails here too.

Also checks coverage: every operation of the document has a generated
function and every object schema a generated model.
"""

import datetime
import json
import os
import re
import sys
import uuid
from pathlib import Path

import tend_api_client
from tend_api_client import AuthenticatedClient, Client
from tend_api_client.api.auth import login, me
from tend_api_client.api.facilities import list_facilities
from tend_api_client.api.patients import (
    create_patient,
    get_patient,
    list_patient_records,
    list_patients,
)
from tend_api_client.models import (
    CareNoteBody,
    ClinicalRecordPage,
    CreatePatient,
    ErrorBody,
    FacilityPage,
    LoginRequest,
    LoginResponse,
    Patient,
    PatientPage,
    PatientStatus,
    User,
)

NURSE = "sunrise-north.rn1"
NURSE_FACILITY = "Sunrise ALF - North Campus"


def fail(message: str) -> None:
    print(f"use_client: {message}", file=sys.stderr)
    sys.exit(1)


def expect(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def check_coverage(document: dict) -> tuple[int, int]:
    """Every operation has a module, every object schema a model."""
    package = Path(tend_api_client.__file__).parent
    modules = {p.stem for p in (package / "api").rglob("*.py") if p.stem != "__init__"}
    operations = [
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    missing = [op for op in operations if op not in modules]
    expect(not missing, f"no generated function for {missing}")
    models = {p.stem for p in (package / "models").glob("*.py")}
    snake = lambda name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()  # noqa: E731
    objects = [
        name
        for name, schema in document["components"]["schemas"].items()
        if schema.get("type") == "object" or "properties" in schema
    ]
    missing = [name for name in objects if snake(name) not in models]
    expect(not missing, f"no generated model for {missing}")
    return len(operations), len(objects)


def main() -> None:
    base = os.environ["TEND_API_BASE"]
    password = os.environ["TEND_DEMO_PASSWORD"]
    document = json.loads(Path(os.environ["TEND_OPENAPI_DOCUMENT"]).read_text())
    operations, objects = check_coverage(document)

    # Sign in; a wrong password is the documented 401 ErrorBody.
    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    refused = login.sync(client=anonymous, body=LoginRequest(username=NURSE, password="wrong-password"))
    expect(isinstance(refused, ErrorBody), f"a wrong password gave {refused!r}")
    expect(refused.error.code.value == "UNAUTHORIZED", f"wrong password: {refused.error.code}")
    session = login.sync(client=anonymous, body=LoginRequest(username=NURSE, password=password))
    expect(isinstance(session, LoginResponse), f"login gave {session!r}")
    expect(session.user.username == NURSE, f"signed in as {session.user.username}")
    client = AuthenticatedClient(base_url=base, token=session.token, raise_on_unexpected_status=True)
    whoami = me.sync(client=client)
    expect(isinstance(whoami, User) and whoami.id == session.user.id, f"me gave {whoami!r}")

    # Her facility, and only hers.
    facilities = list_facilities.sync(client=client)
    expect(isinstance(facilities, FacilityPage), f"facilities gave {facilities!r}")
    names = [f.name for f in facilities.items]
    expect(names == [NURSE_FACILITY], f"the nurse sees facilities {names}")
    facility = facilities.items[0]
    expect(facility.id == whoami.facility_id, "the facility is the nurse's own")

    # Its residents.
    patients = list_patients.sync(client=client, facility_id=facility.id, limit=200)
    expect(isinstance(patients, PatientPage), f"patients gave {patients!r}")
    expect(len(patients.items) > 0, "the demo facility has residents")
    expect(all(p.facility_id == facility.id for p in patients.items), "only her facility's residents")

    # Admit one, then read it back.
    mrn = f"OAC-{uuid.uuid4().hex[:10].upper()}"
    created = create_patient.sync(
        client=client,
        body=CreatePatient(
            mrn=mrn,
            first_name="Integrator",
            last_name="Test",
            date_of_birth=datetime.date(1941, 3, 9),
            room="T-1",
        ),
    )
    expect(isinstance(created, Patient), f"create gave {created!r}")
    expect((created.mrn, created.facility_id) == (mrn, facility.id), f"created {created!r}")
    expect(created.status == PatientStatus.ACTIVE, f"a new patient is {created.status}")
    again = get_patient.sync(created.id, client=client)
    expect(isinstance(again, Patient) and again.mrn == mrn, f"read back {again!r}")
    listed = list_patients.sync(client=client, facility_id=facility.id, name="Integrator")
    expect(any(p.id == created.id for p in listed.items), "the new patient is listed")

    # A resident's records: the demo hand-off notes are care notes.
    notes = []
    for patient in patients.items:
        page = list_patient_records.sync(patient.id, client=client, limit=50)
        expect(isinstance(page, ClinicalRecordPage), f"records gave {page!r}")
        notes.extend(page.items)
    expect(len(notes) > 0, "the demo residents have documentation")
    expect(
        all(isinstance(r.body, CareNoteBody) and r.body.text for r in notes),
        f"record bodies parse as their kind: {[type(r.body).__name__ for r in notes]}",
    )
    fresh = list_patient_records.sync(created.id, client=client)
    expect(isinstance(fresh, ClinicalRecordPage) and fresh.items == [], "a new patient has no records")
    unknown = list_patient_records.sync(2**52, client=client)
    expect(isinstance(unknown, ErrorBody), f"an unknown patient gave {unknown!r}")
    expect(unknown.error.code.value == "NOT_FOUND", f"unknown patient: {unknown.error.code}")

    print(
        f"use_client: {operations} operations and {objects} object schemas generated; "
        f"signed in, {len(facilities.items)} facility, {len(patients.items)} residents, "
        f"admitted {mrn}, read {len(notes)} records",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
