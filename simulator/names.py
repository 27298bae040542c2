"""Chinese personal and place names, drawn from pools weighted roughly as in northern Anhui."""

from __future__ import annotations

import numpy as np

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏"
    "钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
_SURNAME_WEIGHTS = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
MALE_GIVEN = "伟强磊军勇杰涛明超刚平辉建国华志永春林海峰成东兵德贵富福祥庆山玉宝金龙亮文斌飞鹏"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀英华兰玲梅琴云莲桂凤红荣翠琳燕萍洁雪珍月香美淑惠凤娥"
VILLAGE_STEMS = SURNAMES[:60] + "东西南北前后大小新老中高"
VILLAGE_SUFFIXES = (
    "庄",
    "集",
    "楼",
    "寨",
    "湖",
    "店",
    "岗",
    "圩",
    "园",
    "郢",
    "桥",
    "营",
    "台",
    "口",
    "沟",
    "坊",
)
SPONSOR_UNITS = (
    "县财政局",
    "县教育局",
    "县卫计委",
    "县农委",
    "县水务局",
    "县住建局",
    "县人社局",
    "县民政局",
    "县交通局",
    "县国土局",
    "县扶贫局",
    "县公安局",
    "县法院",
    "县检察院",
    "县供电公司",
    "县农商银行",
    "县委组织部",
    "县委宣传部",
    "县发改委",
    "县统计局",
    "县林业局",
    "县审计局",
    "县环保局",
    "县司法局",
    "县文广新局",
    "县商务局",
    "县市场监管局",
    "县科技局",
)


def surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    p = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
    return np.array(list(SURNAMES))[rng.choice(len(SURNAMES), size=n, p=p)]


def given_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """One- or two-character given names, from the male or female pool."""
    n = len(male)
    pools = (np.array(list(FEMALE_GIVEN)), np.array(list(MALE_GIVEN)))
    first = np.where(
        male,
        pools[1][rng.integers(len(MALE_GIVEN), size=n)],
        pools[0][rng.integers(len(FEMALE_GIVEN), size=n)],
    )
    second = np.where(
        male,
        pools[1][rng.integers(len(MALE_GIVEN), size=n)],
        pools[0][rng.integers(len(FEMALE_GIVEN), size=n)],
    )
    two = rng.random(n) < 0.7
    return np.where(two, np.char.add(first, second), first)


def full_names(rng: np.random.Generator, male: np.ndarray, family: np.ndarray | None = None) -> np.ndarray:
    """Surname + given name; ``family`` gives the surname where it is inherited."""
    sur = family if family is not None else surnames(rng, len(male))
    return np.char.add(sur, given_names(rng, male))


def village_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct village names such as 张庄村, 李集村, 新圩村."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        stem = VILLAGE_STEMS[int(rng.integers(len(VILLAGE_STEMS)))]
        if rng.random() < 0.25:
            stem += VILLAGE_STEMS[int(rng.integers(len(VILLAGE_STEMS)))]
        name = stem + VILLAGE_SUFFIXES[int(rng.integers(len(VILLAGE_SUFFIXES)))] + "村"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names
