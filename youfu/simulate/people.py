"""Who lives in the simulated city, and in what proportions. Pure data and small pure helpers.

The proportions describe the platform's users (home-dwelling elders who order services), not all
residents aged 60+. They are our reading of docs/domain.md, marked *plausible*, not sourced:

* users: 13 % of the city's 1.3 million elders receive home services today (docs/domain.md: the plan
  raises the share from 13 % to 18 %), about 169,000 people — in line with the 165,000 who hold
  care vouchers.
* economic status: about 70 % of users are in one of the four hardship statuses (most users hold
  vouchers, and vouchers go to those statuses; some users pay for themselves): 特困 8 %, 低保 34 %,
  低保边缘 17 %, 支出型困难 11 %, none 30 %.
* capability grade (GB/T 42195-2022): 0 intact 5 %, 1 mild 38 %, 2 moderate 30 %, 3 severe 17 %,
  4 total loss 10 %: people who order home care are mostly mildly or moderately impaired (the
  same shares bench/vouchers_batch.py uses).
* living situation: alone 22 %, empty nest 38 %, with family 40 % (home-dwelling users only).
* age: 60–69 30 %, 70–79 38 %, 80–89 26 %, 90+ 6 %; 55 % women.
* who places the order: the 12349 hotline (an operator orders for the elder: docs/domain.md's "by
  web, app or phone") 40 %, a family member's app 40 %, the elder's own app 20 % (only elders
  under 85 with grade 0–2 use the app themselves).
* orders per elder and day: 0.08 + 0.035 × grade, times 1.5 with a voucher to spend: about 0.19
  on average, i.e. 5–6 a month. A community voucher holds 300 yuan on average (200–600 by grade,
  half for the two edge statuses) and pays 70–100 % of orders averaging some 40 yuan at the
  guide prices, so that spends about 60 % of it: vouchers are not always used up.
"""
from __future__ import annotations

ECONOMIC_SHARES = {"tekun": 0.08, "dibao": 0.34, "dibao_edge": 0.17, "expense_hardship": 0.11, "none": 0.30}
GRADE_SHARES = {0: 0.05, 1: 0.38, 2: 0.30, 3: 0.17, 4: 0.10}
LIVING_SHARES = {"alone": 0.22, "empty_nest": 0.38, "with_family": 0.40}
AGE_BANDS = ((60, 69, 0.30), (70, 79, 0.38), (80, 89, 0.26), (90, 99, 0.06))
FEMALE_SHARE = 0.55
HOUSEHOLD_SHARES = {"hotline": 0.40, "family": 0.40, "self": 0.20}
GRADE_TOTALS = {0: (90, 90), 1: (66, 89), 2: (46, 65), 3: (30, 45), 4: (0, 29)}  # GB/T 42195 bands

# The city (docs/domain.md): 1.3 million aged 60+, 13 % of them receiving home services today.
CITY_ELDERS_60_PLUS = 1_300_000
CITY_HOME_SERVICE_SHARE = 0.13  # the plan's target is 18 %
CITY_PLATFORM_ELDERS = round(CITY_ELDERS_60_PLUS * CITY_HOME_SERVICE_SHARE)  # 169,000
CITY_VOUCHER_HOLDERS = 165_000

# What a simulated elder orders, with weights, and how long each service takes (simulated minutes;
# the minimum is the standard catalogue's min_duration_min).
SERVICE_MINUTES = {"meal": 20, "clean": 80, "bath": 70, "medical_escort": 150, "rehab": 70, "companionship": 70,
                   "errand": 40, "mobility": 70, "emergency": 45, "visit": 45}
SERVICE_MIN_MINUTES = {"meal": 0, "clean": 60, "bath": 60, "medical_escort": 120, "rehab": 60, "companionship": 60,
                       "errand": 30, "mobility": 60, "emergency": 30, "visit": 30}
MUTUAL_AID_SERVICES = ("visit", "companionship", "errand", "mobility")

# What each kind of provider offers (catalogue codes); mutual-aid groups take mutual-aid vouchers only.
PROVIDER_SERVICES = {
    "home_care_centre": ("meal", "clean", "bath", "visit", "companionship", "errand", "mobility", "medical_escort",
                         "emergency", "rehab"),
    "meal_point": ("meal", "visit"),
    "home_service_company": ("clean", "errand", "mobility", "medical_escort", "emergency", "rehab"),
    "mutual_aid_group": ("visit", "companionship", "errand", "mobility"),
}
PROVIDER_KIND_SHARES = {"home_care_centre": 0.55, "meal_point": 0.25, "home_service_company": 0.12,
                        "mutual_aid_group": 0.08}
PROVIDER_KIND_NAMES = {"home_care_centre": "居家养老服务中心", "meal_point": "老年助餐点",
                       "home_service_company": "家政养老服务有限公司", "mutual_aid_group": "邻里互助点"}

SURNAMES = "王张陈李刘徐朱周吴孙沈顾钱陆蒋丁杨黄戴缪殷凌葛季"
ELDER_GIVEN = {"male": ("建国", "国华", "德明", "金宝", "根生", "长林", "永福", "志强", "寿山", "荣生", "桂林", "如松",
                        "宝山", "春生", "福元", "家祥"),
               "female": ("秀英", "桂英", "玉兰", "凤英", "秀兰", "桂兰", "金凤", "素珍", "美华", "翠英", "月娥", "兰英",
                          "梅芳", "巧云", "小妹", "彩霞")}
YOUNGER_GIVEN = ("丽", "红", "梅", "芳", "静", "霞", "燕", "娟", "萍", "敏", "伟", "军", "勇", "涛", "磊", "健")
CAREGIVER_GIVEN = {"female": ("秀丽", "红梅", "春芳", "晓静", "彩霞", "海燕", "丽娟", "玉萍", "桂芳", "小敏"),
                   "male": ("建军", "志勇", "海涛", "国强", "永健", "晓磊")}
ROADS = ("人民路", "府前路", "东风路", "凤凰路", "鼓楼路", "海陵路", "青年路", "迎春路", "江洲路", "永定路")
VILLAGES = ("东野", "西垛", "南舍", "北庄", "陈家", "周庄", "三里", "新河", "双桥", "徐马", "王营", "沙垛")
RELATIONS = ("女儿", "儿子", "儿媳", "女婿", "侄女")

CHECK_IN_REASONS = ("老人在社区卫生服务站，签到地点改为服务站", "小区门禁无法进入，在门口签到",
                    "定位漂移，已与老人电话确认到达", "老人临时在女儿家，服务改在女儿家进行")
RECORDS = {"meal": "送午餐一份，协助用餐，整理餐具", "clean": "打扫客厅、厨房和卫生间，整理床铺",
           "bath": "协助洗澡、更衣，检查皮肤情况", "medical_escort": "陪同到医院就诊、取药，送回家中",
           "rehab": "肢体康复训练，指导家属护理要点", "companionship": "陪老人聊天、读报，情绪稳定",
           "errand": "代购生活用品，代缴水电费", "mobility": "陪同外出散步，协助上下楼",
           "emergency": "上门查看，协助处理突发情况并联系家属", "visit": "上门探访，了解生活和身体状况"}
COMMENTS = {5: ("准时，态度好", "很细心，谢谢", "饭菜热乎"), 4: ("挺好的", "服务不错，来得稍晚"),
            3: ("一般", "时间有点短"), 2: ("迟到了半小时",), 1: ("服务不到位",)}


def pick(rng, shares: dict):
    """One key of `shares`, drawn by weight."""
    keys = list(shares)
    return rng.choices(keys, weights=[shares[k] for k in keys])[0]


def propensity(grade: int, has_voucher: bool) -> float:
    """Orders a day before any scale's boost (see the module docstring)."""
    return (0.08 + 0.035 * grade) * (1.5 if has_voucher else 1.0)


def community_eligible(economic_status: str, grade: int) -> bool:
    """The default policy's 社区照护券: a hardship status and grade 1–4, living at home."""
    return economic_status != "none" and grade >= 1


def special_hardship(living: str, economic_status: str, grade: int) -> bool:
    """Assessment's rule (services/assessment/hardship.py): alone or empty nest with economic
    hardship, or grade 2 and above."""
    return (living in ("alone", "empty_nest") and economic_status != "none") or grade >= 2


def mean_propensity() -> float:
    """Expected orders per elder and day over the proportions above (grade and status independent)."""
    hardship = 1 - ECONOMIC_SHARES["none"]
    total = 0.0
    for grade, g_share in GRADE_SHARES.items():
        with_voucher = hardship if grade >= 1 else 0.0
        total += g_share * (with_voucher * propensity(grade, True) + (1 - with_voucher) * propensity(grade, False))
    return total


def needs(grade: int, living: str) -> dict[str, float]:
    """What this elder orders, with weights."""
    alone = living in ("alone", "empty_nest")
    return {
        "meal": 4.0 + (2.0 if alone else 0.0),
        "clean": 2.0,
        "bath": 1.5 if grade >= 2 else 0.3,
        "medical_escort": 0.6 + 0.2 * grade,
        "rehab": 1.0 if grade >= 3 else 0.0,
        "companionship": 0.8 if alone else 0.2,
        "errand": 0.8,
        "mobility": 0.6 if grade in (2, 3) else 0.1,
        "emergency": 0.15,
        "visit": 0.2,
    }


def item_scores(items: list[tuple[str, list[int]]], total: int, protect: frozenset[str] = frozenset()) -> dict[str, int]:
    """Item scores of an instrument that add up to `total` (clamped to what is reachable): every
    item starts at its best score and the others are lowered in turn, round-robin, through their
    allowed values. `protect` items (e.g. consciousness, where 0 means coma) keep their best."""
    best = {code: max(allowed) for code, allowed in items}
    scores = dict(best)
    allowed = {code: sorted(a) for code, a in items}
    need = sum(best.values()) - max(0, total)
    lowerable = [code for code, _ in items if code not in protect]
    while need > 0:
        moved = False
        for code in lowerable:
            if need <= 0:
                break
            below = [v for v in allowed[code] if v < scores[code]]
            if not below:
                continue
            step = scores[code] - below[-1]
            if step > need:
                smaller = [v for v in below if scores[code] - v <= need]
                if not smaller:
                    continue
                step = scores[code] - smaller[0]
            scores[code] -= step
            need -= step
            moved = True
        if not moved:
            break
    return scores
