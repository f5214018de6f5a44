"""Who and what the demo deployment holds: two communities, their grids, 50 residents, shops and a property
company. Fixed data (no randomness), so a second run finds exactly what the first one made."""
from __future__ import annotations

from dataclasses import dataclass, field

RESIDENT_PIN = "246810"  # demo credentials only; printed at the end
ADMIN_PIN = "13572468"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = ["秀英", "桂兰", "建国", "志强", "丽娟", "海燕", "明", "静", "伟", "芳", "磊", "娜", "强", "敏", "军",
         "洋", "勇", "艳", "杰", "涛", "超", "霞", "平", "刚", "玉兰"]
SKILL_SETS = [["errands", "elder_companionship"], ["pet_care"], ["tutoring"], ["repairs"],
              ["medical_escort", "elder_companionship"], ["environment_cleanup"], ["tutoring", "errands"],
              ["repairs", "safety_patrol"], ["mediation"], ["elder_companionship"]]
WEEKDAY_MORNINGS = [{"day": d, "start": "09:00", "end": "12:00"} for d in range(0, 5)]
EVENINGS = [{"day": d, "start": "18:30", "end": "21:00"} for d in range(0, 7)]
WEEKENDS = [{"day": d, "start": "09:00", "end": "17:00"} for d in (5, 6)]


@dataclass(frozen=True)
class Resident:
    key: str  # stable handle used by the seeding steps ("helper", "requester"…)
    display_name: str
    phone: str
    grid: str
    roles: tuple[str, ...] = ("resident",)
    skills: tuple[str, ...] = ()
    availability: tuple[dict, ...] = ()
    vulnerable: bool = False
    merchant: str | None = None  # the name of the merchant whose staff this member is


@dataclass(frozen=True)
class Merchant:
    name: str
    kind: str  # shop | property
    address: str
    grid: str
    staff: str  # Resident.key
    items: tuple[tuple[str, int, int], ...] = ()  # (name, price_points, stock)
    settlement_rate_fen_per_point: int = 10
    max_discount_share_bp: int = 3000
    min_points: int = 10


@dataclass(frozen=True)
class Community:
    code: str
    name: str
    admin_name: str
    admin_phone: str
    grids: tuple[tuple[str, tuple[str, ...]], ...]  # (name, neighbour names)
    residents: tuple[Resident, ...] = ()
    merchants: tuple[Merchant, ...] = ()
    open_requests: tuple[tuple[str, str, str, int, str], ...] = ()  # (resident key, category, title, minutes, urgency)
    exchanges: tuple[tuple[str, str, str, str, int, bool], ...] = ()
    point_value_fen: int = 10
    settings: dict = field(default_factory=dict)


def _residents(prefix: str, grids: list[str], special: dict[int, dict]) -> tuple[Resident, ...]:
    """25 residents per community: staff and shopkeepers first, then neighbours with varied skills."""
    people = []
    for i in range(25):
        extra = special.get(i, {})
        shift = int(prefix) * 11  # different names in each community
        name = SURNAMES[(i + shift) % len(SURNAMES)] + GIVEN[(i * 7 + shift) % len(GIVEN)]
        slots = (WEEKDAY_MORNINGS, EVENINGS, WEEKENDS)[i % 3]
        people.append(Resident(
            key=extra.get("key", f"r{i:02d}"), display_name=extra.get("display_name", name),
            phone=f"139{prefix}{i:04d}", grid=grids[i % len(grids)], roles=tuple(extra.get("roles", ("resident",))),
            skills=tuple(SKILL_SETS[i % len(SKILL_SETS)]), availability=tuple(slots),
            vulnerable=extra.get("vulnerable", i in (20, 23)), merchant=extra.get("merchant")))
    return tuple(people)


LIANHUA = Community(
    code="lianhua", name="莲花社区", admin_name="周主任", admin_phone="13800000101",
    grids=(("一网格", ("二网格",)), ("二网格", ("一网格", "三网格")), ("三网格", ("二网格",))),
    residents=_residents("0001", ["一网格", "二网格", "三网格"], {
        1: {"key": "organizer", "roles": ("resident", "organizer")},
        2: {"key": "grid_worker", "roles": ("resident", "grid_worker")},
        3: {"key": "shopkeeper", "roles": ("resident", "merchant"), "merchant": "莲花便利店"},
        4: {"key": "property_staff", "roles": ("merchant",), "merchant": "莲花物业服务中心"},
        5: {"key": "helper"}, 6: {"key": "requester", "vulnerable": True},
        7: {"key": "helper2"}, 8: {"key": "requester2"}}),
    merchants=(
        Merchant("莲花便利店", "shop", "莲花路 12 号", "一网格", "shopkeeper",
                 items=(("鸡蛋 10 枚", 60, 100), ("大米 5kg", 300, 40), ("洗衣液", 150, 30))),
        Merchant("莲花物业服务中心", "property", "莲花路 1 号物业楼", "二网格", "property_staff",
                 items=(("物业费抵扣 10 元", 100, 1000),), settlement_rate_fen_per_point=10,
                 max_discount_share_bp=2000, min_points=100),
    ),
    open_requests=(
        ("requester", "medical_escort", "陪我去社区医院复诊", 120, "high"),
        ("requester2", "repairs", "厨房水龙头漏水", 60, "normal"),
        ("requester2", "tutoring", "孩子三年级数学辅导", 90, "normal"),
        ("helper2", "pet_care", "出差两天，帮忙喂猫", 30, "low"),
    ),
    # (requester key, helper key, category, title, minutes, confirmed by the requester?)
    exchanges=(
        ("requester", "helper", "repairs", "帮忙换灯泡并检查电路", 60, True),
        ("requester2", "helper2", "elder_companionship", "周末陪老人散步", 90, False),
    ),
)

TAOYUAN = Community(
    code="taoyuan", name="桃源社区", admin_name="郑书记", admin_phone="13800000201",
    grids=(("东区", ("西区",)), ("西区", ("东区",))),
    residents=_residents("0002", ["东区", "西区"], {
        1: {"key": "organizer", "roles": ("resident", "organizer")},
        2: {"key": "grid_worker", "roles": ("resident", "grid_worker")},
        3: {"key": "shopkeeper", "roles": ("resident", "merchant"), "merchant": "桃源理发店"},
        5: {"key": "helper"}, 6: {"key": "requester"}}),
    merchants=(
        Merchant("桃源理发店", "shop", "桃源街 8 号", "东区", "shopkeeper",
                 items=(("老人理发", 150, 50), ("洗剪吹", 250, 50))),
    ),
    open_requests=(
        ("requester", "errands", "帮忙买菜（行动不便）", 45, "high"),
        ("helper", "environment_cleanup", "楼道杂物清理", 60, "low"),
    ),
    exchanges=(
        ("requester", "helper", "errands", "帮忙取快递", 30, False),
    ),
)

COMMUNITIES = (LIANHUA, TAOYUAN)


@dataclass(frozen=True)
class Partnership:
    """A partner agreement (互认协议): the proposer's admin proposes, the partner's admin accepts."""

    proposer: str  # community code
    partner: str
    units: tuple[tuple[str, int], ...]  # (unit, net limit: HOUR in minutes, PT in fen of cash value)
    clearing_period: str = "monthly"
    finder: str = "helper"  # the partner's resident whose handle the summary gives, to look them up
    # One cross-community exchange: this resident of the proposer gives the finder these minutes, confirmed by them.
    giver: str = "r10"
    gift_minutes: int = 30
    gift_memo: str = "谢谢帮忙修自行车"


# 莲花 and 桃源 honour each other's hours (net up to 20 hours) and points (net up to ¥200), cleared monthly.
PARTNERSHIP = Partnership("lianhua", "taoyuan", (("HOUR", 1200), ("PT", 20000)))
