"""A seeded synthetic city: elders, providers and caregivers. Pure (no I/O): the same scale, seed,
run tag and keep-clear circles give the same world, so a run can be repeated and tested.

* Elders are spread over the six county-level units by population weight (largest remainder,
  at least one each), then over each unit's streets and towns by the places' weights, scattered
  around each place (dense town quarters, sparse countryside: see places.py).
* Caregivers live where the elders are: each unit's caregivers go to its places in proportion to
  the elders there (at least one to the place with most elders); countryside caregivers cover a
  wider radius (9 km) than town ones (5 km).
* Providers sit in each unit's busiest places (one per unit first, a home-care centre; the rest
  by elders, of the city's mix of kinds). A caregiver works for the nearest home-care centre of
  the unit (70 %) or the nearest provider of any kind (30 %).
* Phone numbers, ID numbers and credit codes carry the run tag, so two runs against one platform
  do not collide (the driver retries the rare ID number that does).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date

from shared.city import haversine_m
from youfu.seed_providers import _credit_code
from youfu.simulate import people as P
from youfu.simulate.places import DISTRICTS, District, KeepClear, Place, offset

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z


@dataclass(frozen=True)
class Scale:
    name: str
    elders: int
    providers: int
    caregivers: int
    boost: float  # orders per elder and day, times this (a small sample standing for more people)
    speed: float  # default: simulated seconds per real second
    places_per_district: int | None = None  # None: every street and town; 2: the busiest street and town
    daily_limit: int = 8  # caregivers' orders a day (the soak plays many days on one real date: 50)
    poll_s: float = 1.0  # how often provider desks look at their offers (real seconds)
    # each caregiver signs in with their own account; False: the provider's desk records its
    # caregivers' check-ins and check-outs (the platform lets a provider's admin do so), as a small
    # provider with one shared terminal would, and the caregivers have no app accounts
    caregiver_accounts: bool = True
    note: str = ""


SCALES: dict[str, Scale] = {s.name: s for s in (
    Scale("demo", 18, 6, 12, boost=12, speed=5040, places_per_district=2, poll_s=0.4, caregiver_accounts=False,
          note="18 elders, 3 a unit on average, in one street and one town each, the providers' desks "
               "recording their caregivers' visits; a day in about 10 s"),
    Scale("town", 240, 12, 40, boost=4, speed=420, poll_s=1.5,
          note="240 elders, about 0.15 % of the city's platform users, orders boosted 4x; a day in 2 minutes"),
    Scale("city", 1690, 18, 70, boost=1, speed=84, poll_s=3.0,
          note="a 1 % sample of the city's 169,000 platform users at the real order rate; a day in 10 minutes"),
    Scale("full", P.CITY_PLATFORM_ELDERS, 1800, 7000, boost=1, speed=1, poll_s=3.0,
          note="the whole city in real time: not runnable on a 2-core machine (see README)"),
    Scale("soak", 150, 30, 120, boost=1, speed=600, daily_limit=50, poll_s=3.0,
          note="load world for `make soak` (with --peak-multiple): steady traffic at a multiple of the "
               "city's peak; caregivers take up to 50 orders a day, as the soak plays many days' load on one date"),
)}


@dataclass(frozen=True)
class Elder:
    index: int
    name: str
    gender: str
    birth_date: date
    id_seq: int  # the ID number's sequence digits (bumped by the driver on the rare clash)
    phone: str
    district_code: str
    street: str
    address: str
    lat: float
    lon: float
    rural: bool
    living_situation: str
    economic_status: str
    grade: int
    total: int  # the assessment total that gives `grade`
    household: str  # hotline | family | self
    family_name: str | None
    family_phone: str | None
    relation: str | None
    propensity: float
    needs: dict[str, float] = field(hash=False, compare=False)

    @property
    def id_card(self) -> str:
        return id_card(self.district_code, self.birth_date, self.id_seq, self.gender)

    @property
    def community_voucher(self) -> bool:
        return P.community_eligible(self.economic_status, self.grade)

    @property
    def special_hardship(self) -> bool:
        return P.special_hardship(self.living_situation, self.economic_status, self.grade)


@dataclass(frozen=True)
class Caregiver:
    index: int
    provider: int
    name: str
    gender: str
    phone: str
    lat: float
    lon: float
    radius_m: float
    skills: tuple[str, ...]
    daily_limit: int


@dataclass(frozen=True)
class Provider:
    index: int
    kind: str
    name: str
    credit_code: str
    district_code: str
    street: str
    address: str
    lat: float
    lon: float
    area_radius_m: float
    services: tuple[str, ...]
    admin_phone: str


@dataclass(frozen=True)
class World:
    scale: Scale
    seed: int
    run_tag: int
    elders: tuple[Elder, ...]
    providers: tuple[Provider, ...]
    caregivers: tuple[Caregiver, ...]
    keep_clear: tuple[KeepClear, ...] = ()

    def elders_by_district(self) -> dict[str, int]:
        out = {d.code: 0 for d in DISTRICTS}
        for e in self.elders:
            out[e.district_code] += 1
        return out


def id_card(district_code: str, born: date, seq: int, gender: str) -> str:
    """A valid resident ID number: region, birth date, sequence (odd last digit for men), check."""
    from youfu.seed import _id_card  # (imported here: youfu.seed loads the gateway's account code)

    seq3 = seq % 1000
    if (seq3 % 2 == 1) != (gender == "male"):
        seq3 = (seq3 + 1) % 1000
    return _id_card(f"{district_code}{born:%Y%m%d}{seq3:03d}")


def _id_seq(drawn: int, run_tag: int) -> int:
    """The ID number's sequence digits (100–989), moved by the run tag (by an even step, so the
    gender digit keeps its parity): the same seed on another run gives other ID numbers, so a
    repeated run does not register its elders over its predecessor's (a 409 and a retry each)."""
    return 100 + (drawn - 100 + 2 * run_tag) % 890


def phone(run_tag: int, kind: int, index: int) -> str:
    """19 + run tag (4 digits) + kind digit + index (4 digits): 11 digits, unique within a run."""
    return f"19{run_tag % 10_000:04d}{kind}{index % 10_000:04d}"


def credit_code(run_tag: int, district_code: str, index: int) -> str:
    tag = ""
    n = run_tag
    for _ in range(3):
        n, r = divmod(n, len(CREDIT_ALPHABET))
        tag += CREDIT_ALPHABET[r]
    return _credit_code(f"52{district_code}MJ{tag}{index % 10_000:04d}")


def apportion(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder); then, when `total` allows,
    any share below `minimum` is raised, taking from the largest shares."""
    n = len(weights)
    wsum = sum(weights) or 1.0
    exact = [total * w / wsum for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(n), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    if total >= minimum * n:
        for i in range(n):
            while counts[i] < minimum:
                donor = max(range(n), key=lambda k: (counts[k], -k))
                counts[donor] -= 1
                counts[i] += 1
    return counts


def _places(district: District, scale: Scale) -> tuple[Place, ...]:
    if scale.places_per_district is None:
        return district.places
    streets = sorted((p for p in district.places if not p.rural), key=lambda p: -p.weight)
    towns = sorted((p for p in district.places if p.rural), key=lambda p: -p.weight)
    return tuple((streets[:1] + towns[:1])[: scale.places_per_district])


def _scatter(rng: random.Random, place: Place) -> tuple[float, float]:
    return offset(place.lat, place.lon, rng.gauss(0, place.spread_m) / 1000, rng.gauss(0, place.spread_m) / 1000)


def _clear_of(rng: random.Random, lat: float, lon: float, zones: tuple[KeepClear, ...]) -> tuple[float, float, bool]:
    """The point, pushed out of every keep-clear circle it falls in; True when it moved."""
    moved = False
    for zone in zones:
        if zone.holds_elder(lat, lon):
            lat, lon = zone.push_out(lat, lon, rng.uniform(500, 3000))
            moved = True
    return lat, lon, moved


def _address(rng: random.Random, district: District, place: str, rural: bool) -> str:
    if rural:
        return f"泰州市{district.name}{place}{rng.choice(P.VILLAGES)}村{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
    return (f"泰州市{district.name}{place}{rng.choice(P.ROADS)}{rng.randint(1, 300)}号"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}")


def _elder(rng: random.Random, index: int, run_tag: int, district: District, place: Place,
           zones: tuple[KeepClear, ...], today: date) -> Elder:
    gender = "female" if rng.random() < P.FEMALE_SHARE else "male"
    low, high, _ = rng.choices(P.AGE_BANDS, weights=[b[2] for b in P.AGE_BANDS])[0]
    age = rng.randint(low, high)
    born = date(today.year - age - 1, rng.randint(1, 12), rng.randint(1, 28))
    grade = P.pick(rng, P.GRADE_SHARES)
    economic = P.pick(rng, P.ECONOMIC_SHARES)
    living = P.pick(rng, P.LIVING_SHARES)
    household = P.pick(rng, P.HOUSEHOLD_SHARES)
    if household == "self" and (age >= 85 or grade >= 3):
        household = "family"
    lat, lon = _scatter(rng, place)
    lat, lon, moved = _clear_of(rng, lat, lon, zones)
    street, rural = place.name, place.rural
    if moved:  # now out in the countryside: say so, with the unit's nearest town
        towns = [p for p in district.places if p.rural] or list(district.places)
        nearest = min(towns, key=lambda p: haversine_m(p.lat, p.lon, lat, lon))
        street, rural = nearest.name, True
    surname = rng.choice(P.SURNAMES)
    family = household == "family" or rng.random() < 0.5
    voucher = P.community_eligible(economic, grade)
    return Elder(
        index=index, name=surname + rng.choice(P.ELDER_GIVEN[gender]), gender=gender, birth_date=born,
        id_seq=_id_seq(rng.randint(100, 989), run_tag), phone=phone(run_tag, 1, index),
        district_code=district.code, street=street,
        address=_address(rng, district, street, rural), lat=lat, lon=lon, rural=rural, living_situation=living,
        economic_status=economic, grade=grade, total=rng.randint(*P.GRADE_TOTALS[grade]), household=household,
        family_name=surname + rng.choice(P.YOUNGER_GIVEN) if family else None,
        family_phone=phone(run_tag, 2, index) if family else None,
        relation=rng.choice(P.RELATIONS) if family else None,
        propensity=P.propensity(grade, voucher), needs=P.needs(grade, living))


def _radius(lat: float, lon: float, wanted: float, zones: tuple[KeepClear, ...]) -> float:
    for zone in zones:
        wanted = min(wanted, zone.max_radius_from(lat, lon))
    return max(500.0, round(wanted))


def generate_world(scale: Scale, *, seed: int = 1, run_tag: int = 0, keep_clear: tuple[KeepClear, ...] = (),
                   today: date = date(2026, 3, 1)) -> World:
    rng = random.Random(f"youfu-city:{scale.name}:{seed}")
    per_district = apportion(scale.elders, [d.weight for d in DISTRICTS], minimum=1)
    elders: list[Elder] = []
    homes: dict[tuple[str, str], list[Elder]] = {}
    for district, count in zip(DISTRICTS, per_district):
        places = _places(district, scale)
        for place, n in zip(places, apportion(count, [p.weight for p in places])):
            for _ in range(n):
                elder = _elder(rng, len(elders), run_tag, district, place, keep_clear, today)
                elders.append(elder)
                homes.setdefault((district.code, elder.street), []).append(elder)
    providers, caregivers = _providers_and_caregivers(rng, scale, run_tag, homes, per_district, keep_clear)
    return World(scale, seed, run_tag, tuple(elders), tuple(providers), tuple(caregivers), keep_clear)


def _busiest(homes: dict[tuple[str, str], list[Elder]], code: str) -> list[tuple[Place, list[Elder]]]:
    district = next(d for d in DISTRICTS if d.code == code)
    found = [(p, homes.get((code, p.name), [])) for p in district.places]
    return sorted((x for x in found if x[1]), key=lambda x: -len(x[1]))


def _providers_and_caregivers(rng, scale: Scale, run_tag: int, homes, per_district: list[int],
                              zones: tuple[KeepClear, ...]) -> tuple[list[Provider], list[Caregiver]]:
    providers: list[Provider] = []
    caregivers: list[Caregiver] = []
    p_counts = apportion(scale.providers, per_district, minimum=1)
    c_counts = apportion(scale.caregivers, per_district, minimum=1)
    for district, n_providers, n_caregivers in zip(DISTRICTS, p_counts, c_counts):
        busy = _busiest(homes, district.code)
        if not busy:
            continue
        mine: list[Provider] = []
        for k in range(n_providers):
            place, living = busy[k % len(busy)]
            # the unit's first provider is a full home-care centre; later ones follow the city's mix
            kind = "home_care_centre" if k == 0 else P.pick(rng, P.PROVIDER_KIND_SHARES)
            anchor = rng.choice(living)
            lat, lon = offset(anchor.lat, anchor.lon, rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8))
            area = 15_000 if place.rural else 8_000
            index = len(providers)
            name = f"泰州市{district.name}{place.name.removesuffix('街道').removesuffix('镇')}" \
                   f"{P.PROVIDER_KIND_NAMES[kind]}（模拟{index + 1}）"
            provider = Provider(index, kind, name, credit_code(run_tag, district.code, index), district.code,
                                place.name, f"泰州市{district.name}{place.name}{rng.choice(P.ROADS)}{rng.randint(1, 99)}号",
                                lat, lon, area, P.PROVIDER_SERVICES[kind], phone(run_tag, 3, index))
            providers.append(provider)
            mine.append(provider)
        weights = [len(living) for _, living in busy]
        per_place = apportion(n_caregivers, weights, minimum=1)
        for (place, living), n in zip(busy, per_place):
            for _ in range(n):
                home = rng.choice(living)
                lat, lon = offset(home.lat, home.lon, rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5))
                # most caregivers work for the nearest home-care centre; some for the nearest provider of any kind
                centres = [p for p in mine if p.kind == "home_care_centre"]
                pool = centres if centres and rng.random() < 0.7 else mine
                employer = min(pool, key=lambda p: haversine_m(p.lat, p.lon, lat, lon))
                gender = "female" if rng.random() < 0.85 else "male"
                index = len(caregivers)
                caregivers.append(Caregiver(
                    index=index, provider=employer.index, name=rng.choice(P.SURNAMES) + rng.choice(P.CAREGIVER_GIVEN[gender]),
                    gender=gender, phone=phone(run_tag, 4, index), lat=lat, lon=lon,
                    radius_m=_radius(lat, lon, 9_000 if place.rural else 5_000, zones), skills=employer.services,
                    daily_limit=scale.daily_limit))
    caregivers = _staff_every_provider(providers, caregivers)
    return [_covering(p, caregivers) for p in providers], caregivers


def _covering(provider: Provider, caregivers: list[Caregiver]) -> Provider:
    """The provider's service area reaches as far as its caregivers do (a countryside caregiver
    of a town-centre provider serves the villages around their own home). It needs no keep-clear
    cut: an order goes to a caregiver only within both the area and the caregiver's own radius,
    and the caregivers' radii are cut."""
    reach = max((haversine_m(provider.lat, provider.lon, c.lat, c.lon) + c.radius_m
                 for c in caregivers if c.provider == provider.index), default=0.0)
    return replace(provider, area_radius_m=round(max(provider.area_radius_m, reach)))


def _staff_every_provider(providers: list[Provider], caregivers: list[Caregiver]) -> list[Caregiver]:
    """A provider nobody works for gets the nearest caregiver of its unit who is not the only one
    at their own provider (a provider with no staff can never accept an order)."""
    out = list(caregivers)
    for provider in providers:
        if any(c.provider == provider.index for c in out):
            continue
        counts = {p.index: sum(1 for c in out if c.provider == p.index) for p in providers}
        movable = [c for c in out if counts[c.provider] > 1 and providers[c.provider].district_code == provider.district_code]
        if not movable:
            continue
        c = min(movable, key=lambda c: haversine_m(c.lat, c.lon, provider.lat, provider.lon))
        out[c.index] = Caregiver(c.index, provider.index, c.name, c.gender, c.phone, c.lat, c.lon, c.radius_m,
                                 provider.services, c.daily_limit)
    return out
