"""统一社会信用代码 (unified social credit code), GB 32100-2015.

18 characters:  1      registration authority (9 市场监管/工商, 5 民政, 1 机构编制 …)
                2      kind of organisation within that authority (91 企业, 52 民办非企业单位 …)
                3–8    administrative division code of the registering authority (321202 海陵区)
                9–17   organisation code (GB 11714)
                18     check character over the first 17, modulo 31

The alphabet is 0-9 and the capitals without I, O, Z, S, V (too easily misread as 1, 0, 2, 5, U).
The check character catches every single wrong character and every swap of two neighbours, so
it is the rule that decides validity. The authority and kind are decoded for display only: the
lists have grown since 2015 and an unknown pair is not a reason to turn a provider away.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from shared.errors import FieldError, Invalid

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
# Weight of position i is 3**i mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18

AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "市场监管（工商）",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
KINDS = {
    "11": "机关", "12": "事业单位", "13": "中央编办直接管理机构编制的群众团体", "19": "其他",
    "21": "外国常驻新闻机构", "29": "其他",
    "31": "律师执业机构", "32": "公证处", "33": "基层法律服务所", "34": "司法鉴定机构", "35": "仲裁委员会", "39": "其他",
    "41": "外国在华文化中心", "49": "其他",
    "51": "社会团体", "52": "民办非企业单位（社会服务机构）", "53": "基金会", "59": "其他",
    "61": "外国旅游部门常驻代表机构", "62": "港澳台地区旅游部门常驻内地（大陆）代表机构", "69": "其他",
    "71": "宗教活动场所", "72": "宗教院校", "79": "其他",
    "81": "基层工会", "89": "其他",
    "91": "企业", "92": "个体工商户", "93": "农民专业合作社",
    "A1": "军队事业单位", "A9": "其他",
    "N1": "组级集体经济组织", "N2": "村级集体经济组织", "N3": "乡镇级集体经济组织", "N9": "其他",
    "Y1": "其他",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CreditCodeParts:
    code: str
    authority: str  # zh label, "未知" when not in the 2015 table
    kind: str
    division_code: str  # 6 digits, e.g. "321202"
    organisation_code: str  # 9 characters


def normalize_credit_code(raw: str) -> str:
    """Upper-case, drop spaces and hyphens, and fold full-width characters typed on phones."""
    folded = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in folded if not ch.isspace() and ch != "-").upper()


def credit_code_check_char(first17: str) -> str:
    """The 18th character for the first 17 (which must already be in the alphabet)."""
    if len(first17) != LENGTH - 1:
        raise ValueError("need exactly 17 characters")
    total = sum(_VALUE[ch] * weight for ch, weight in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(raw: str, *, field: str = "credit_code") -> str:
    """The normalised code, or `Invalid` (422) with a zh-CN reason a person can act on."""
    code = normalize_credit_code(raw or "")
    reason = _first_problem(code)
    if reason is not None:
        raise Invalid(f"统一社会信用代码不正确：{reason}", errors=[FieldError(field, reason)])
    return code


def is_valid_credit_code(raw: str) -> bool:
    return _first_problem(normalize_credit_code(raw or "")) is None


def describe_credit_code(raw: str) -> CreditCodeParts:
    """Validate, then split into its parts with zh labels (for the officer's review page)."""
    code = validate_credit_code(raw)
    return CreditCodeParts(
        code=code,
        authority=AUTHORITIES.get(code[0], "未知"),
        kind=KINDS.get(code[:2], "未知"),
        division_code=code[2:8],
        organisation_code=code[8:17],
    )


def _first_problem(code: str) -> str | None:
    if not code:
        return "请填写统一社会信用代码"
    if len(code) != LENGTH:
        return f"应为 18 位，现为 {len(code)} 位"
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            hint = "（代码中不使用 I、O、Z、S、V）" if ch in "IOZSV" else ""
            return f"第 {position} 位“{ch}”不是有效字符{hint}"
    if not code[2:8].isdigit():
        return "第 3 至 8 位应为 6 位数字的行政区划代码"
    if credit_code_check_char(code[:17]) != code[17]:
        return "校验位（第 18 位）与前 17 位不符，请逐位核对营业执照或登记证书"
    return None
