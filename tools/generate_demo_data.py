#!/usr/bin/env python3
"""Write Ledgerlink's demo data: a small heating-and-plumbing firm in Leicestershire.

    python tools/generate_demo_data.py [--out resources/demo]

Writes customers.csv, suppliers.csv, invoices.csv, credit_notes.csv and payments.csv in
the layouts of docs/csv-layout.md. The output depends only on SEED: running it again
gives byte-identical files (tests/test_demo_data.py checks this against the committed
files). Only the standard library is used.

The people and businesses are invented. Telephone numbers are from Ofcom's ranges kept
for drama (0116 496 0xxx, 01632 960xxx, 07700 900xxx) and email addresses use the
reserved example.com/.net/.org domains and the .example top-level domain.
"""

from __future__ import annotations

import argparse
import csv
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from random import Random

SEED = 20261121
START = date(2025, 12, 1)
END = date(2026, 11, 20)
PAYMENT_TERMS = timedelta(days=30)
PENNY = Decimal("0.01")
ZERO = Decimal("0.00")

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "resources" / "demo"

CONTACT_HEADER = (
    "account_ref",
    "name",
    "contact_name",
    "address_1",
    "address_2",
    "address_3",
    "town",
    "county",
    "postcode",
    "email",
    "phone",
)
INVOICE_HEADER = (
    "number",
    "date",
    "due_date",
    "customer_ref",
    "reference",
    "description",
    "quantity",
    "unit_price",
    "nominal_code",
    "vat_rate",
    "vat_amount",
)
CREDIT_NOTE_HEADER = (
    "number",
    "date",
    "customer_ref",
    "reference",
    "original_invoice",
    "description",
    "quantity",
    "unit_price",
    "nominal_code",
    "vat_rate",
    "vat_amount",
)
PAYMENT_HEADER = (
    "reference",
    "date",
    "customer_ref",
    "amount",
    "method",
    "bank_code",
    "invoice_number",
    "allocated",
)

# ------------------------------------------------------------------------ name pools

# fmt: off
FEMALE = (
    "Janet", "Sarah", "Emma", "Claire", "Helen", "Priya", "Aisha", "Margaret", "Susan",
    "Rachel", "Zoë", "Siân", "Renée", "Gemma", "Hannah", "Joanne", "Amrit", "Fatima",
    "Karen", "Nicola", "Lucy", "Beverley", "Chloe", "Yasmin", "Agnieszka", "Maureen",
)
MALE = (
    "David", "Paul", "Mark", "Andrew", "Raj", "Imran", "Stephen", "Gary", "Peter",
    "Michael", "Darren", "Tom", "Chidi", "Sanjay", "Kevin", "Ian", "Graham", "Tomasz",
    "Neil", "Jamal", "Richard", "Colin", "Dev", "Martin", "Lee", "Alan",
)
SURNAMES = (
    "Smith", "Jones", "Patel", "Khan", "Williams", "Taylor", "Brown", "Davies", "Evans",
    "Wilson", "Thomas", "Johnson", "Roberts", "Robinson", "Wright", "Walker", "Hughes",
    "Green", "Hall", "Lewis", "Harris", "Clarke", "Jackson", "Turner", "Cooper", "Hill",
    "Ward", "Morris", "Moore", "King", "Baker", "Harrison", "Morgan", "Allen", "Bennett",
    "Mistry", "Chauhan", "Lad", "Sandhu", "Bains", "Hussain", "Okafor", "Adeyemi",
    "Nowak", "Kowalski", "O'Brien", "Murphy", "Holloway", "Whitfield", "Pritchard",
    "Gill", "Sharma", "Bishop", "Dawson", "Fletcher", "Marsh", "Ellis", "Newton", "Read",
)
STREETS = (
    "Elm Road", "Church Lane", "Station Road", "Victoria Street", "Mill Lane",
    "The Green", "Park Avenue", "Ashby Road", "Forest Road", "Nottingham Road",
    "Leicester Road", "Loughborough Road", "Queens Road", "Brook Street", "Meadow Close",
    "Orchard Way", "Beacon Road", "Windmill Rise", "Charnwood Road", "Fosse Way",
    "Welford Road", "London Road", "Narborough Road", "Uppingham Road", "Melton Road",
    "Hinckley Road", "Holly Drive", "Chestnut Avenue", "Spinney Hill Road", "Knighton Lane",
    "Howard Road", "Evington Lane", "Burleys Way", "Regent Street", "Granville Road",
)
HOUSE_NAMES = ("Rose Cottage", "The Old Forge", "Willow Barn", "Holly House", "Orchard End")
# (town, postcode districts, villages or areas that may appear as an address line)
TOWNS = (
    ("Leicester", ("LE1", "LE2", "LE3", "LE4", "LE5"), ("Knighton", "Clarendon Park",
     "Aylestone", "Evington", "Stoneygate", "Westcotes", "Belgrave", "Humberstone")),
    ("Loughborough", ("LE11",), ("Quorn", "Barrow upon Soar", "Woodhouse Eaves")),
    ("Hinckley", ("LE10",), ("Burbage", "Barwell")),
    ("Market Harborough", ("LE16",), ("Great Bowden", "Lubenham")),
    ("Melton Mowbray", ("LE13", "LE14"), ("Asfordby", "Waltham on the Wolds")),
    ("Oadby", ("LE2",), ()),
    ("Wigston", ("LE18",), ()),
    ("Coalville", ("LE67",), ("Whitwick", "Ibstock")),
    ("Lutterworth", ("LE17",), ("Ullesthorpe",)),
    ("Syston", ("LE7",), ("Thurmaston", "Queniborough")),
)
# fmt: on
TOWN_WEIGHTS = (40, 12, 6, 6, 5, 7, 6, 5, 3, 5)
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# (name, kind, contact name) for the companies that buy from us.
COMPANIES = (
    ("Harborough Lettings Ltd", "agent", "Lorraine Fisher"),
    ("Castle Gate Property Management Limited", "agent", "Maintenance desk"),
    ("Soar Valley Homes (Lettings) Ltd", "agent", "Dean Holt"),
    ("Charnwood Residential Lettings", "agent", "Amy Pearce"),
    ("Fosse Housing Association", "housing", "Repairs team"),
    ("Meadowbank Care Home Ltd", "care", "Sandra Ellison"),
    ("Hallbrook Primary School", "school", "School business manager"),
    ("Brookside Academy", "school", "Site manager"),
    ("St Mary's C of E Primary School", "school", "Mrs P. Okoro"),
    ("Little Acorns Day Nursery Limited", "nursery", "Jo Rigby"),
    ("The Blue Door Café", "cafe", "Marco Rossi"),
    ("Bean & Bloom Café", "cafe", "Ellie Shaw"),
    ("Café Crème Oadby", "cafe", "Sophie Durand"),
    ("Fosse Dental Practice", "dental", "Practice manager"),
    ("Clarendon Park Dental Care Ltd", "dental", "Reena Patel"),
    ("The Plough Inn", "pub", "Gary Lowe"),
    ("The Old Bell Hotel Ltd", "hotel", "Front office"),
    ("Stoneygate Guest House", "hotel", "Anne Marsh"),
    ("Quorn Village Hall", "hall", "Hall bookings secretary"),
    ("St Peter's Church PCC", "hall", "The Treasurer"),
    ("Wigston Community Centre", "hall", "Centre manager"),
    ("Peak Fitness Gym Ltd", "gym", "Dan Corbett"),
    ("Spice Garden Restaurant", "restaurant", "Mr A. Rahman"),
    ("Golden Dragon Takeaway", "restaurant", "Mr W. Chen"),
    ("Cuts & Curls Hair Studio", "salon", "Tina Ward"),
    ("Harvey & Daughters Butchers Ltd", "shop", "Ruth Harvey"),
    ("Greenfingers Florist", "shop", "Maya Green"),
    ("Melton Veterinary Surgery Ltd", "vet", "Practice manager"),
    ("Charnwood Accountancy LLP", "office", "Office manager"),
    ("Ashby Road Motors Ltd", "garage", "Steve Nolan"),
    ("Loughborough Rowing Club", "club", "Club secretary"),
    ("Coalville Business Centre Limited", "office", "Facilities"),
    ("Kingfisher Nurseries (Garden Centre) Ltd", "shop", "Accounts"),
    ("Beaumont Physiotherapy Clinic", "dental", "Clinic manager"),
    ("Highcross Student Lets Ltd", "agent", "Property team"),
    ("Oadby Bowls Club", "club", "Hon. Treasurer"),
    ("Wreake Valley Bakery", "shop", "Tom Baxter"),
    ("Syston Pharmacy Limited", "shop", "Mr S. Vora"),
)

LANDLORD_COMPANIES = (
    "Okafor Properties Ltd",
    "Mistry Estates Limited",
    "Redbrick Homes (Leicester) Ltd",
    "Greenway Residential Ltd",
    "KP Lettings",
)

SUPPLIERS = (
    ("Soar Valley Plumbers' Merchants Ltd", "Trade counter", "plumbing"),
    ("Midshires Heating & Plumbing Supplies Ltd", "Credit control", "plumbing"),
    ("Fosse Pipe & Fittings Ltd", "Accounts", "plumbing"),
    ("Charnwood Electrical Wholesale Ltd", "Branch manager", "electrical"),
    ("Hartwell Boilers UK Ltd", "Installer support", "manufacturer"),
    ("Northfield Heat Pumps Ltd", "Sales ledger", "manufacturer"),
    ("Radiant Radiators Direct Ltd", "Orders", "plumbing"),
    ("Trent Bathroom Distribution Ltd", "Accounts", "plumbing"),
    ("Fleetline Van Leasing Ltd", "Customer accounts", "vans"),
    ("RoadPay Fuel Cards Ltd", "Customer service", "fuel"),
    ("Wreake Insurance Brokers Ltd", "Commercial team", "insurance"),
    ("Tradesafe Public Liability Insurance plc", "Renewals", "insurance"),
    ("Leicestershire Waste & Skip Hire Ltd", "Bookings", "waste"),
    ("Greenline Recycling Ltd", "Accounts", "waste"),
    ("Pearce & Co Chartered Accountants", "Sarah Pearce", "accountant"),
    ("Kestrel Payroll Bureau Ltd", "Payroll team", "payroll"),
    ("Gas Registration Body (Demo)", "Registrations", "registration"),
    ("Midlands Tool Hire Ltd", "Hire desk", "tools"),
    ("ProWear Workwear Ltd", "Sales", "workwear"),
    ("Signal Mobile Business Ltd", "Business accounts", "phone"),
    ("JobFlow Software Ltd", "Billing", "software"),
    ("Clearview Van Tracking Ltd", "Accounts", "telematics"),
    ("Heatwise Training Centre", "Course bookings", "training"),
    ("Safety First PPE Supplies", "Orders", "workwear"),
    ("Abbey Builders' Merchants Ltd", "Trade desk", "builders"),
    ("Copperfield Cylinders Ltd", "Sales ledger", "manufacturer"),
    ("Meridian Flue Systems Ltd", "Technical sales", "manufacturer"),
    ("County Gas Meters & Regulators Ltd", "Orders", "plumbing"),
    ("Leicester City Council (Trade Parking)", "Parking services", "council"),
    ("Brightside Office Supplies Ltd", "Accounts", "office"),
)

# -------------------------------------------------------------------- price list

CALL_OUT = ("Call-out charge", "65.00")
CALL_OUT_WEEKEND = ("Emergency call-out (weekend)", "95.00")
LABOUR = ("Labour – engineer (per hour)", "52.00")
LABOUR_APPRENTICE = ("Labour – apprentice (per hour)", "28.50")

BOILER_PARTS = (
    ("Diverter valve cartridge", "68.40"),
    ("Boiler printed circuit board", "214.95"),
    ("Boiler fan assembly", "156.20"),
    ("Pressure sensor", "38.75"),
    ("Gas valve", "129.00"),
    ("Expansion vessel 8 litre", "54.60"),
    ("Ignition electrode", "18.90"),
    ("Condensate trap", "24.35"),
    ("Circulating pump head", "96.00"),
    ("Heat exchanger gasket set", "12.80"),
)
# (description, unit price, quantities to choose from)
PIPEWORK = (
    ("15mm copper pipe (per metre)", "4.8750", ("1.5", "2", "2.5", "3", "4.5")),
    ("22mm copper pipe (per metre)", "9.6250", ("1", "1.5", "2", "3")),
    ("15mm compression elbow", "2.35", ("2", "4", "6")),
    ("22mm compression tee", "5.10", ("1", "2", "3")),
    ("15mm isolation valve", "3.95", ("1", "2")),
    ("Jointing compound and PTFE tape", "4.50", ("1",)),
)
TAPS = (
    ("Mixer tap (kitchen)", "84.00"),
    ("Basin taps (pair)", "46.50"),
    ("Bath shower mixer", "118.00"),
    ("Cistern fill valve", "14.20"),
    ("Cistern flush valve", "19.80"),
    ("Outside tap kit with double check valve", "32.60"),
)
RADIATORS = (
    ("Double panel radiator 600 x 1000", "112.00"),
    ("Single panel radiator 600 x 800", "68.50"),
    ("Chrome towel radiator 800 x 500", "89.00"),
)
TRV_PAIR = ("Thermostatic radiator valves (pair)", "24.99")
BOILERS = (
    ("Combination boiler 25kW", "1095.00"),
    ("Combination boiler 30kW", "1245.00"),
    ("System boiler 24kW", "1180.00"),
)
FLUE_KIT = ("Horizontal flue kit", "86.00")
FILTER = ("Magnetic system filter", "135.00")
INHIBITOR = ("Central heating inhibitor 1 litre", "18.50")
THERMOSTAT = ("Smart room thermostat", "179.00")
HEAT_PUMPS = (
    ("Air source heat pump 7kW", "4980.00"),
    ("Air source heat pump 9kW", "5480.00"),
)
HP_CYLINDER = ("Heat pump hot water cylinder 200 litre", "1350.00")
HP_KIT = ("Heat pump installation kit (pipework, valves, antifreeze)", "640.00")
WATER_HEATER = ("Unvented water heater 15 litre", "289.00")
CYLINDER = ("Unvented hot water cylinder 150 litre", "695.00")

SERVICE = ("Annual boiler service", "85.00")
GAS_SAFETY = ("Landlord gas safety record (CP12)", "75.00")
GAS_SAFETY_EXTRA = ("Additional gas appliance check", "20.00")
POWER_FLUSH = ("Power flush (up to 10 radiators)", "420.00")
COMMERCIAL_SERVICE = ("Commercial boiler service", "185.00")
LEGIONELLA = ("Legionella water temperature monitoring visit", "95.00")
TMV_SERVICE = ("Thermostatic mixing valve annual service (per valve)", "38.00")
INTERLOCK = ("Catering gas interlock inspection", "120.00")
VOID_CHECK = ("Void property heating and water check", "95.00")
DRAIN_DOWN = ("Drain down and winterise heating system", "140.00")

METHOD_WEIGHTS = {
    "household": (("card", 40), ("bank_transfer", 42), ("cash", 8), ("cheque", 10)),
    "landlord": (("bank_transfer", 100),),
    "company": (("bank_transfer", 88), ("cheque", 6), ("card", 6)),
    "housing": (("direct_debit", 100),),
}

# ------------------------------------------------------------------------- records


@dataclass
class Customer:
    name: str
    segment: str  # household, landlord or company
    kind: str  # for companies: agent, school, cafe…; for households: "" or "pensioner"
    contact_name: str
    address: tuple[str, str, str, str, str, str]  # 3 lines, town, county, postcode
    email: str
    phone: str
    properties: list[str] = field(default_factory=list)
    ref: str = ""


@dataclass
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    code: str
    rate: Decimal

    @property
    def net(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(PENNY, rounding=ROUND_HALF_UP)

    @property
    def vat(self) -> Decimal:
        return (self.net * self.rate / 100).quantize(PENNY, rounding=ROUND_HALF_UP)

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass
class Invoice:
    customer: Customer
    date: date
    reference: str
    lines: list[Line]
    number: str = ""
    credited: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def gross(self) -> Decimal:
        return sum((line.gross for line in self.lines), ZERO)

    @property
    def owed(self) -> Decimal:
        return self.gross - self.credited - self.paid


@dataclass
class CreditNote:
    invoice: Invoice
    date: date
    reference: str
    lines: list[Line]
    number: str = ""


@dataclass
class Payment:
    customer: Customer
    date: date
    method: str
    allocations: list[tuple[Invoice, Decimal]]
    reference: str = ""


# ------------------------------------------------------------------------ helpers


def ascii_slug(text: str, separator: str = ".") -> str:
    """``"Zoë O'Brien"`` → ``"zoe.obrien"``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = ["".join(c for c in word if c.isalnum()) for word in plain.lower().split()]
    return separator.join(word for word in words if word)


def weighted(rng: Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def money(value: Decimal) -> str:
    return f"{value.quantize(PENNY)}"


def number_text(value: Decimal) -> str:
    """Quantities and unit prices as a job system writes them: 1, 1.5, 65.00, 4.8750."""
    return format(value, "f")


class Phones:
    """Distinct numbers from Ofcom's drama ranges."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        self.used: dict[str, None] = {}

    def _draw(self, pattern: str) -> str:
        while True:
            number = pattern.format(self.rng.randrange(1000))
            if number not in self.used:
                self.used[number] = None
                return number

    def mobile(self) -> str:
        return self._draw("07700 900{:03d}")

    def landline(self) -> str:
        return (
            self._draw("0116 496 0{:03d}")
            if self.rng.random() < 0.75
            else self._draw("01632 960{:03d}")
        )


class Addresses:
    def __init__(self, rng: Random) -> None:
        self.rng = rng
        self.used: dict[str, None] = {}

    def postcode(self, district: str) -> str:
        inward = f"{self.rng.randrange(1, 10)}{self.rng.choice(INWARD_LETTERS)}"
        return f"{district} {inward}{self.rng.choice(INWARD_LETTERS)}"

    def street_line(self) -> str:
        while True:
            line = f"{self.rng.randrange(1, 180)} {self.rng.choice(STREETS)}"
            if line not in self.used:
                self.used[line] = None
                return line

    def home(self, *, flat: bool = False) -> tuple[str, str, str, str, str, str]:
        rng = self.rng
        index = rng.choices(range(len(TOWNS)), weights=TOWN_WEIGHTS)[0]
        town, districts, areas = TOWNS[index]
        district = rng.choice(districts)
        street = self.street_line()
        area = rng.choice(areas) if areas and rng.random() < 0.45 else ""
        county = "Leicestershire" if rng.random() < 0.8 else ""
        if flat:
            return (
                f"Flat {rng.randrange(1, 9)}",
                street,
                area,
                town,
                county,
                self.postcode(district),
            )
        if area and rng.random() < 0.15:
            return (rng.choice(HOUSE_NAMES), street, area, town, county, self.postcode(district))
        return (street, area, "", town, county, self.postcode(district))

    def business(self) -> tuple[str, str, str, str, str, str]:
        rng = self.rng
        index = rng.choices(range(len(TOWNS)), weights=TOWN_WEIGHTS)[0]
        town, districts, _ = TOWNS[index]
        unit = rng.choice(("", "", "", f"Unit {rng.randrange(1, 30)}"))
        street = self.street_line()
        first, second = (unit, street) if unit else (street, "")
        return (first, second, "", town, "Leicestershire", self.postcode(rng.choice(districts)))


# ---------------------------------------------------------------------- customers


def person_name(rng: Random) -> tuple[str, str, str]:
    """(display name, first name, surname)."""
    female = rng.random() < 0.5
    first = rng.choice(FEMALE if female else MALE)
    surname = rng.choice(SURNAMES)
    style = rng.random()
    if style < 0.55:
        return f"{first} {surname}", first, surname
    if style < 0.85:
        title = rng.choice(("Mrs", "Ms", "Miss", "Dr") if female else ("Mr", "Mr", "Dr"))
        return f"{title} {first[0]}. {surname}", first, surname
    return f"Mr & Mrs {surname}", first, surname


def household_email(rng: Random, first: str, surname: str) -> str:
    domain = rng.choice(("example.com", "example.net", "example.org"))
    style = rng.randrange(3)
    if style == 0:
        local = f"{ascii_slug(first)}.{ascii_slug(surname)}"
    elif style == 1:
        local = f"{ascii_slug(first)[0]}{ascii_slug(surname)}{rng.randrange(10, 99)}"
    else:
        local = f"{ascii_slug(surname)}.family"
    return f"{local}@{domain}"


def make_customers(rng: Random, phones: Phones, addresses: Addresses) -> list[Customer]:
    customers: list[Customer] = []

    def household(name: str, first: str, surname: str, kind: str = "") -> Customer:
        email = household_email(rng, first, surname) if rng.random() < 0.72 else ""
        phone = phones.mobile() if rng.random() < 0.7 else phones.landline()
        flat = rng.random() < 0.12
        return Customer(name, "household", kind, "", addresses.home(flat=flat), email, phone)

    # Genuine namesakes: different people at different addresses.
    for name, first, surname in (
        ("J. Patel", "Jayesh", "Patel"),
        ("J. Patel", "Jyoti", "Patel"),
        ("David Jones", "David", "Jones"),
        ("David Jones", "David", "Jones"),
    ):
        customers.append(household(name, first, surname))
    used = {customer.name: None for customer in customers}

    def new_person() -> tuple[str, str, str]:
        """A name no other customer has (the namesakes above are the only ones)."""
        while True:
            name, first, surname = person_name(rng)
            if name not in used:
                used[name] = None
                return name, first, surname

    while len(customers) < 150:
        name, first, surname = new_person()
        # Pensioners who qualify for grant-funded heating (VAT at 5%).
        kind = "pensioner" if rng.random() < 0.07 else ""
        customers.append(household(name, first, surname, kind))

    landlord_names = list(LANDLORD_COMPANIES)
    for index in range(12):
        if index < len(landlord_names):
            name = landlord_names[index]
            contact = f"{rng.choice(FEMALE + MALE)} {rng.choice(SURNAMES)}"
            email = f"lettings@{ascii_slug(name, '-')}.example"
            address = addresses.business()
        else:
            name, first, surname = new_person()
            contact = ""
            email = household_email(rng, first, surname)
            address = addresses.home()
        landlord = Customer(
            name,
            "landlord",
            "",
            contact if contact != name else "",
            address,
            email,
            phones.mobile(),
        )
        for _ in range(rng.randrange(2, 8)):
            home = addresses.home(flat=rng.random() < 0.3)
            place = ", ".join(part for part in (home[0], home[1]) if part)
            landlord.properties.append(f"{place}, {home[3]}")
        customers.append(landlord)

    for name, kind, contact in COMPANIES:
        email = f"accounts@{ascii_slug(name, '-')}.example" if rng.random() < 0.9 else ""
        company = Customer(
            name, "company", kind, contact, addresses.business(), email, phones.landline()
        )
        if kind in ("agent", "housing"):
            for _ in range(rng.randrange(8, 16) if kind == "agent" else 30):
                home = addresses.home(flat=rng.random() < 0.4)
                place = ", ".join(part for part in (home[0], home[1]) if part)
                company.properties.append(f"{place}, {home[3]}")
        customers.append(company)

    rng.shuffle(customers)
    for number, customer in enumerate(customers, start=1):
        customer.ref = f"CUS{number:04d}"
    return customers


# ----------------------------------------------------------------------- invoices


def line(item: tuple[str, str], quantity: str | Decimal, code: str, rate: Decimal) -> Line:
    return Line(item[0], Decimal(quantity), Decimal(item[1]), code, rate)


def hours(rng: Random, low: float, high: float) -> Decimal:
    """A labour time in quarter hours between ``low`` and ``high``."""
    quarters = rng.randrange(int(low * 4), int(high * 4) + 1)
    return Decimal(quarters) / 4  # exact: 1.5, 2, 2.25


def labour(rng: Random, low: float, high: float, rate: Decimal) -> Line:
    return line(LABOUR, hours(rng, low, high), "SALES-LAB", rate)


def pipework(rng: Random, rate: Decimal) -> Line:
    description, price, quantities = rng.choice(PIPEWORK)
    return line((description, price), rng.choice(quantities), "SALES-MAT", rate)


TWENTY, FIVE, NIL = Decimal(20), Decimal(5), Decimal(0)


def repair_job(rng: Random, when: date) -> list[Line]:
    callout = CALL_OUT_WEEKEND if when.weekday() == 5 else CALL_OUT
    lines = [line(callout, "1", "SALES", TWENTY), labour(rng, 0.5, 3, TWENTY)]
    lines.append(line(rng.choice(BOILER_PARTS), "1", "SALES-MAT", TWENTY))
    if rng.random() < 0.3:
        lines.append(pipework(rng, TWENTY))
    return lines


def leak_job(rng: Random, when: date) -> list[Line]:
    callout = CALL_OUT_WEEKEND if when.weekday() == 5 else CALL_OUT
    return [
        line(callout, "1", "SALES", TWENTY),
        labour(rng, 0.5, 2.5, TWENTY),
        pipework(rng, TWENTY),
    ]


def tap_job(rng: Random, when: date) -> list[Line]:
    lines = [labour(rng, 0.75, 2, TWENTY), line(rng.choice(TAPS), "1", "SALES-MAT", TWENTY)]
    if rng.random() < 0.4:
        lines.insert(0, line(CALL_OUT, "1", "SALES", TWENTY))
    return lines


def service_job(rng: Random, when: date) -> list[Line]:
    lines = [line(SERVICE, "1", "SALES", TWENTY)]
    if rng.random() < 0.25:
        lines.append(line(rng.choice(BOILER_PARTS[6:]), "1", "SALES-MAT", TWENTY))
    return lines


def radiator_job(rng: Random, when: date) -> list[Line]:
    count = rng.choice(("1", "1", "2", "3"))
    return [
        labour(rng, 2, 5, TWENTY),
        line(rng.choice(RADIATORS), count, "SALES-MAT", TWENTY),
        line(TRV_PAIR, count, "SALES-MAT", TWENTY),
        pipework(rng, TWENTY),
    ][: rng.choice((3, 4))]


def power_flush_job(rng: Random, when: date) -> list[Line]:
    return [
        line(POWER_FLUSH, "1", "SALES", TWENTY),
        line(FILTER, "1", "SALES-MAT", TWENTY),
        line(INHIBITOR, "1", "SALES-MAT", TWENTY),
    ]


def boiler_install_job(rng: Random, when: date, rate: Decimal = TWENTY) -> list[Line]:
    return [
        labour(rng, 12, 20, rate),
        line(rng.choice(BOILERS), "1", "SALES-MAT", rate),
        line(FLUE_KIT, "1", "SALES-MAT", rate),
        line(FILTER if rng.random() < 0.6 else THERMOSTAT, "1", "SALES-MAT", rate),
    ]


def grant_heating_job(rng: Random, when: date) -> list[Line]:
    """Grant-funded heating for a qualifying (pensioner) household: VAT at 5%."""
    lines = boiler_install_job(rng, when, FIVE)[:3]
    lines.append(line(rng.choice(RADIATORS[:2]), rng.choice(("2", "3", "4")), "SALES-MAT", FIVE))
    return lines


def heat_pump_job(rng: Random, when: date) -> list[Line]:
    """Energy-saving materials installed in a home: zero-rated."""
    return [
        labour(rng, 24, 40, NIL),
        line(rng.choice(HEAT_PUMPS), "1", "SALES-MAT", NIL),
        line(HP_CYLINDER, "1", "SALES-MAT", NIL),
        line(HP_KIT, "1", "SALES-MAT", NIL),
    ]


def cylinder_job(rng: Random, when: date) -> list[Line]:
    return [
        labour(rng, 5, 8, TWENTY),
        line(CYLINDER, "1", "SALES-MAT", TWENTY),
        pipework(rng, TWENTY),
    ]


def gas_safety_job(rng: Random, when: date) -> list[Line]:
    lines = [line(GAS_SAFETY, "1", "SALES", TWENTY)]
    if rng.random() < 0.3:
        lines.append(line(GAS_SAFETY_EXTRA, rng.choice(("1", "2")), "SALES", TWENTY))
    if rng.random() < 0.35:
        lines.append(line(SERVICE, "1", "SALES", TWENTY))
    return lines


def void_job(rng: Random, when: date) -> list[Line]:
    lines = [line(VOID_CHECK, "1", "SALES", TWENTY)]
    if rng.random() < 0.5:
        lines.append(line(DRAIN_DOWN, "1", "SALES", TWENTY))
    return lines


def commercial_service_job(rng: Random, when: date) -> list[Line]:
    lines = [line(COMMERCIAL_SERVICE, rng.choice(("1", "1", "2")), "SALES", TWENTY)]
    if rng.random() < 0.3:
        lines.append(line(rng.choice(BOILER_PARTS), "1", "SALES-MAT", TWENTY))
        lines.append(labour(rng, 0.5, 2, TWENTY))
    return lines


def legionella_job(rng: Random, when: date) -> list[Line]:
    lines = [line(LEGIONELLA, "1", "SALES", TWENTY)]
    if rng.random() < 0.4:
        lines.append(line(TMV_SERVICE, rng.choice(("2", "4", "6", "8")), "SALES", TWENTY))
    return lines


def interlock_job(rng: Random, when: date) -> list[Line]:
    return [line(INTERLOCK, "1", "SALES", TWENTY)]


def water_heater_job(rng: Random, when: date) -> list[Line]:
    return [
        labour(rng, 2, 4, TWENTY),
        line(WATER_HEATER, "1", "SALES-MAT", TWENTY),
        pipework(rng, TWENTY),
    ]


def apprentice_job(rng: Random, when: date) -> list[Line]:
    lines = leak_job(rng, when)
    lines.insert(2, line(LABOUR_APPRENTICE, hours(rng, 0.5, 2.5), "SALES-LAB", TWENTY))
    return lines


JobMaker = Callable[[Random, date], list[Line]]
HOUSEHOLD_JOBS: tuple[tuple[JobMaker, int], ...] = (
    (service_job, 30),
    (repair_job, 22),
    (leak_job, 14),
    (tap_job, 10),
    (radiator_job, 7),
    (power_flush_job, 4),
    (boiler_install_job, 4),
    (cylinder_job, 2),
    (apprentice_job, 3),
)
RENTAL_JOBS: tuple[tuple[JobMaker, int], ...] = (
    (gas_safety_job, 34),
    (repair_job, 22),
    (leak_job, 18),
    (tap_job, 12),
    (radiator_job, 4),
    (boiler_install_job, 3),
    (apprentice_job, 4),
)
HOUSING_JOBS = (*RENTAL_JOBS, (void_job, 14))
BUSINESS_JOBS: dict[str, tuple[tuple[JobMaker, int], ...]] = {
    "school": ((legionella_job, 40), (commercial_service_job, 20), (leak_job, 20), (tap_job, 20)),
    "care": ((legionella_job, 30), (commercial_service_job, 20), (repair_job, 25), (tap_job, 25)),
    "nursery": ((legionella_job, 30), (service_job, 30), (tap_job, 40)),
    "cafe": ((interlock_job, 40), (water_heater_job, 20), (leak_job, 25), (tap_job, 15)),
    "restaurant": ((interlock_job, 45), (leak_job, 35), (water_heater_job, 20)),
    "pub": ((interlock_job, 30), (commercial_service_job, 30), (leak_job, 40)),
    "hotel": ((commercial_service_job, 35), (leak_job, 35), (tap_job, 30)),
    "dental": ((legionella_job, 35), (water_heater_job, 25), (leak_job, 40)),
}
DEFAULT_BUSINESS_JOBS = ((service_job, 35), (repair_job, 25), (leak_job, 25), (tap_job, 15))
# How many invoices a customer of each kind has in the year (choices, weights).
INVOICES_PER_YEAR: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "household": ((1, 2, 3, 4), (55, 30, 10, 5)),
    "agent": ((14, 18, 22, 26), (1, 1, 1, 1)),
    "housing": ((55, 60, 65), (1, 1, 1)),
    "care": ((16, 20), (1, 1)),
    "school": ((6, 8, 10), (1, 1, 1)),
    "nursery": ((4, 6), (1, 1)),
    "cafe": ((5, 7, 9), (1, 1, 1)),
    "restaurant": ((4, 6), (1, 1)),
    "pub": ((4, 6), (1, 1)),
    "hotel": ((5, 8), (1, 1)),
    "dental": ((5, 7), (1, 1)),
    "other": ((2, 3, 4, 5), (1, 1, 1, 1)),
}
# Busier in the heating season.
MONTH_WEIGHTS = {12: 13, 1: 14, 2: 12, 3: 10, 4: 8, 5: 8, 6: 7, 7: 7, 8: 7, 9: 9, 10: 11, 11: 13}


def working_days() -> tuple[list[date], list[int]]:
    days: list[date] = []
    weights: list[int] = []
    day = START
    while day <= END:
        if day.weekday() < 6:  # Monday to Saturday
            days.append(day)
            weights.append(MONTH_WEIGHTS[day.month] * (1 if day.weekday() == 5 else 4))
        day += timedelta(days=1)
    return days, weights


def job_number(rng: Random) -> str:
    return f"job {rng.randrange(40000, 49999)}"


def make_invoices(rng: Random, customers: list[Customer]) -> list[Invoice]:
    days, weights = working_days()
    invoices: list[Invoice] = []

    def pick(jobs: Sequence[tuple[JobMaker, int]]) -> JobMaker:
        return rng.choices([job for job, _ in jobs], weights=[w for _, w in jobs])[0]

    for customer in customers:
        if customer.segment == "household":
            choices, odds = INVOICES_PER_YEAR["household"]
        elif customer.segment == "landlord":
            choices, odds = (len(customer.properties) * 2, len(customer.properties) * 3), (1, 1)
        else:
            choices, odds = INVOICES_PER_YEAR.get(customer.kind, INVOICES_PER_YEAR["other"])
        count = rng.choices(choices, weights=odds)[0]
        for job_index in range(count):
            when = rng.choices(days, weights=weights)[0]
            if customer.segment == "household":
                maker = pick(HOUSEHOLD_JOBS)
                reference = job_number(rng).capitalize()
                if customer.kind == "pensioner" and job_index == 0:
                    maker = grant_heating_job
                    reference = f"Grant-funded heating, {job_number(rng)}"
                elif rng.random() < 0.035:
                    maker = heat_pump_job
                    reference = f"Heat pump installation, {job_number(rng)}"
            elif customer.segment == "landlord":
                maker = pick(RENTAL_JOBS)
                reference = f"{rng.choice(customer.properties)} ({job_number(rng)})"
            elif customer.kind == "agent":
                maker = pick(RENTAL_JOBS)
                reference = f"PO {rng.randrange(7000, 9999)} – {rng.choice(customer.properties)}"
            elif customer.kind == "housing":
                maker = pick(HOUSING_JOBS)
                reference = f"WO-{rng.randrange(100000, 199999)} {rng.choice(customer.properties)}"
            else:
                maker = pick(BUSINESS_JOBS.get(customer.kind, DEFAULT_BUSINESS_JOBS))
                reference = f"PO {rng.randrange(1000, 99999)}" if rng.random() < 0.6 else ""
            invoices.append(Invoice(customer, when, reference[:100], maker(rng, when)))
    invoices.sort(key=lambda invoice: (invoice.date, invoice.customer.ref))
    for number, invoice in enumerate(invoices, start=10001):
        invoice.number = f"INV-{number}"
    return invoices


# -------------------------------------------------------------------- credit notes


def make_credit_notes(rng: Random, invoices: list[Invoice]) -> list[CreditNote]:
    candidates = [invoice for invoice in invoices if invoice.date <= END - timedelta(days=10)]
    chosen = rng.sample(candidates, 25)
    notes: list[CreditNote] = []
    for index, invoice in enumerate(chosen):
        when = min(invoice.date + timedelta(days=rng.randrange(1, 22)), END)
        style = index % 3
        if style == 0:
            lines = [
                Line(x.description, x.quantity, x.unit_price, x.code, x.rate) for x in invoice.lines
            ]
            reference = rng.choice(
                ("Invoice raised in error", "Duplicate invoice", "Job cancelled")
            )
        elif style == 1:
            first = invoice.lines[0]
            lines = [
                Line(first.description, first.quantity, first.unit_price, first.code, first.rate)
            ]
            reference = rng.choice(
                ("Goodwill: charge waived", "Agreed discount", "Price correction")
            )
        else:
            labour_lines = [x for x in invoice.lines if x.code == "SALES-LAB" and x.quantity > 1]
            source = labour_lines[0] if labour_lines else invoice.lines[-1]
            quantity = Decimal("0.5") if labour_lines else source.quantity
            lines = [
                Line(source.description, quantity, source.unit_price, source.code, source.rate)
            ]
            reference = "Labour overcharged" if labour_lines else "Part returned unused"
        note = CreditNote(invoice, when, reference, lines)
        invoice.credited += sum((x.gross for x in lines), ZERO)
        assert invoice.credited <= invoice.gross
        notes.append(note)
    notes.sort(key=lambda note: (note.date, note.invoice.number))
    for number, note in enumerate(notes, start=2001):
        note.number = f"CN-{number}"
    return notes


# ------------------------------------------------------------------------ payments


def pay(invoice: Invoice, amount: Decimal) -> tuple[Invoice, Decimal]:
    assert ZERO < amount <= invoice.owed, (invoice.number, amount, invoice.owed)
    invoice.paid += amount
    return invoice, amount


def make_payments(rng: Random, invoices: list[Invoice]) -> list[Payment]:
    payments: list[Payment] = []
    by_customer: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        by_customer.setdefault(invoice.customer.ref, []).append(invoice)

    for ref in sorted(by_customer):
        own = by_customer[ref]
        customer = own[0].customer
        if customer.segment == "landlord":
            payments.extend(batched_payments(rng, customer, own))
            continue
        profile = "housing" if customer.kind == "housing" else customer.segment
        for invoice in own:
            if invoice.owed <= 0 or rng.random() < 0.03:
                continue  # fully credited, or disputed and never paid
            if profile == "household":
                delay = rng.choice((0, 0, 1, 3, 7, 10, 14, 21, 28))
            else:
                delay = rng.randrange(14, 46)
            when = invoice.date + timedelta(days=delay)
            method = weighted(rng, METHOD_WEIGHTS[profile])
            if rng.random() < 0.07 and invoice.owed > 100:
                # Pays part now and (if it has happened yet) the rest later.
                part = (invoice.owed / 2).quantize(Decimal(1) if invoice.owed > 400 else PENNY)
                part = min(max(part, PENNY), invoice.owed - PENNY)
                if when <= END:
                    payments.append(Payment(customer, when, method, [pay(invoice, part)]))
                when += timedelta(days=rng.randrange(20, 45))
                if when <= END:
                    payments.append(Payment(customer, when, method, [pay(invoice, invoice.owed)]))
                continue
            if when <= END:
                payments.append(Payment(customer, when, method, [pay(invoice, invoice.owed)]))

    payments.sort(
        key=lambda payment: (payment.date, payment.customer.ref, payment.allocations[0][0].number)
    )
    for number, payment in enumerate(payments, start=30001):
        payment.reference = f"PAY-{number}"
    return payments


def batched_payments(rng: Random, customer: Customer, own: list[Invoice]) -> list[Payment]:
    """A landlord settles each month's invoices in one transfer early the next month."""
    payments: list[Payment] = []
    months: dict[tuple[int, int], list[Invoice]] = {}
    for invoice in own:
        months.setdefault((invoice.date.year, invoice.date.month), []).append(invoice)
    for (year, month), batch in months.items():
        next_month = date(year + month // 12, month % 12 + 1, 1)
        when = next_month + timedelta(days=rng.randrange(3, 15))
        if when > END:
            continue
        allocations = [pay(invoice, invoice.owed) for invoice in batch if invoice.owed > 0]
        if allocations:
            payments.append(Payment(customer, when, "bank_transfer", allocations))
    return payments


# -------------------------------------------------------------------------- output


def rows_to_csv(header: Sequence[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def contact_rows(customers: list[Customer]) -> list[list[str]]:
    return [
        [c.ref, c.name, c.contact_name, *c.address, c.email, c.phone]
        for c in sorted(customers, key=lambda c: c.ref)
    ]


def make_suppliers(rng: Random, phones: Phones, addresses: Addresses) -> list[Customer]:
    suppliers: list[Customer] = []
    for number, (name, contact, kind) in enumerate(SUPPLIERS, start=1):
        mailbox = rng.choice(("accounts", "sales", "hello", "billing"))
        email = f"{mailbox}@{ascii_slug(name, '-')}.example"
        supplier = Customer(
            name, "supplier", kind, contact, addresses.business(), email, phones.landline()
        )
        supplier.ref = f"SUP{number:03d}"
        suppliers.append(supplier)
    return suppliers


def line_cells(item: Line) -> list[str]:
    return [
        item.description,
        number_text(item.quantity),
        number_text(item.unit_price),
        item.code,
        f"{item.rate}",
        money(item.vat),
    ]


def generate() -> dict[str, bytes]:
    """The five files by name."""
    rng = Random(SEED)
    phones, addresses = Phones(rng), Addresses(rng)
    customers = make_customers(rng, phones, addresses)
    suppliers = make_suppliers(rng, phones, addresses)
    invoices = make_invoices(rng, customers)
    notes = make_credit_notes(rng, invoices)
    payments = make_payments(rng, invoices)

    invoice_rows = [
        [
            invoice.number,
            invoice.date.isoformat(),
            (invoice.date + PAYMENT_TERMS).isoformat(),
            invoice.customer.ref,
            invoice.reference,
            *line_cells(item),
        ]
        for invoice in invoices
        for item in invoice.lines
    ]
    note_rows = [
        [
            note.number,
            note.date.isoformat(),
            note.invoice.customer.ref,
            note.reference,
            note.invoice.number,
            *line_cells(item),
        ]
        for note in notes
        for item in note.lines
    ]
    payment_rows = [
        [
            payment.reference,
            payment.date.isoformat(),
            payment.customer.ref,
            money(sum((amount for _, amount in payment.allocations), ZERO)),
            payment.method,
            "BANK",
            invoice.number,
            money(amount),
        ]
        for payment in payments
        for invoice, amount in payment.allocations
    ]
    return {
        "customers.csv": rows_to_csv(CONTACT_HEADER, contact_rows(customers)),
        "suppliers.csv": rows_to_csv(CONTACT_HEADER, contact_rows(suppliers)),
        "invoices.csv": rows_to_csv(INVOICE_HEADER, invoice_rows),
        "credit_notes.csv": rows_to_csv(CREDIT_NOTE_HEADER, note_rows),
        "payments.csv": rows_to_csv(PAYMENT_HEADER, payment_rows),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write into")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in generate().items():
        (args.out / name).write_bytes(data)
        rows = data.count(b"\n") - 1
        print(f"wrote {args.out / name} ({rows} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
