"""Year-level plan of the dataset: the figures the generators are held to exactly.

Everything here is at scale 1; counts and sums are multiplied by the scale. The years
2018-2020 reproduce the published actuals of /work/shared/seeds/README.md through the KPI
rules of KPIS.md; the other years continue plausibly (see sandbox/CALIBRATION.md).
Only *valid* records are planned: trap records (unknown region, invalid USCC, revoked,
released, voided) are generated on top and count nowhere.
"""
YEARS = tuple(range(2018, 2026))

# ---------------------------------------------------------------- courts (by filed_date)
# cases received per year by case_type; 2017 cases exist so that 2018 has closings
COURT_RECEIVED = {
    #        民事   刑事  行政
    2017: (1080, 118, 160),
    2018: (1201, 128, 178),
    2019: (1322, 131, 186),
    2020: (1569, 150, 189),
    2021: (1720, 142, 176),
    2022: (1830, 150, 168),
    2023: (1980, 161, 171),
    2024: (2090, 158, 180),
    2025: (2180, 166, 184),
}
# Σ claim_amount (元) of 民事 cases filed in the year (cases with a null claim add 0)
COURT_CIVIL_CLAIM = {
    2017: 301_500_000_00, 2018: 362_140_500_00, 2019: 430_725_800_00, 2020: 537_135_500_00,
    2021: 611_800_000_00, 2022: 683_400_000_00, 2023: 722_900_000_00, 2024: 791_300_000_00,
    2025: 842_600_000_00,
}  # in 分 (cents)
# share of closed 民事 一审 cases (not 移送) that are appealed, by filing year
COURT_APPEAL_RATE = {2017: 0.16, 2018: 0.155, 2019: 0.15, 2020: 0.14, 2021: 0.13, 2022: 0.12,
                     2023: 0.11, 2024: 0.095, 2025: 0.085}
COURT_PUNITIVE_RATE = {2017: 0.0, 2018: 0.002, 2019: 0.006, 2020: 0.012, 2021: 0.025, 2022: 0.035,
                       2023: 0.04, 2024: 0.045, 2025: 0.05}

# ---------------------------------------------------------------- customs (by 查获日期)
# valid (not 放行) batches, Σ 数量（件）, Σ 案值 in 元
CUSTOMS = {
    2018: (545, 16_204_300, 54_302_160),
    2019: (592, 17_388_950, 59_875_540),
    2020: (637, 18_717_770, 65_454_780),
    2021: (668, 19_903_400, 71_236_900),
    2022: (610, 17_215_600, 66_408_300),
    2023: (701, 21_497_200, 78_912_500),
    2024: (742, 22_803_900, 84_106_700),
    2025: (760, 23_415_000, 88_021_400),
}

# ---------------------------------------------------------------- police
# cases filed per year; Σ 涉案金额 (分) of cases filed in the year
POLICE_FILED = {2017: 160, 2018: 172, 2019: 189, 2020: 217, 2021: 228, 2022: 204, 2023: 196,
                2024: 211, 2025: 222}
POLICE_AMOUNT = {
    2017: 176_300_000_00, 2018: 192_450_000_00, 2019: 236_800_000_00, 2020: 513_426_780_50,
    2021: 462_100_000_00, 2022: 391_700_000_00, 2023: 418_900_000_00, 2024: 482_300_000_00,
    2025: 503_600_000_00,
}
# exact solved-in-year counts where the seeds fix them; other years follow the solve process
POLICE_SOLVED = {2019: 164, 2020: 191}
# exact Σ 打处人数 over cases solved in the year where the seeds fix it
POLICE_SUSPECTS = {2020: 279}

# ---------------------------------------------------------------- AMR enforcement cases
AMR_CATEGORIES = ("专利侵权纠纷行政裁决", "假冒专利", "商标侵权", "商标假冒", "地理标志侵权", "其他")
# valid cases closed (已结案, closed_on in year) by category
AMR_CLOSED = {
    2018: (610, 290, 280, 128, 12, 190),
    2019: (820, 380, 300, 131, 18, 220),
    2020: (1240, 525, 318, 136, 22, 245),
    2021: (1380, 560, 342, 140, 25, 260),
    2022: (1450, 540, 356, 150, 28, 270),
    2023: (1520, 560, 372, 152, 30, 280),
    2024: (1610, 575, 390, 160, 31, 290),
    2025: (1700, 590, 405, 164, 33, 300),
}
# Σ fine_yuan (分) over valid cases closed in the year
AMR_FINES = {
    2018: 9_812_300_00, 2019: 11_604_900_00, 2020: 13_581_640_00, 2021: 14_903_200_00,
    2022: 15_612_800_00, 2023: 16_240_500_00, 2024: 17_118_000_00, 2025: 18_006_700_00,
}
# closure rate aimed at (cases opened in the year, closed by its end); decides how many
# cases opened in the year are closed only in the next one
AMR_CLOSURE_RATE = {2018: 0.941, 2019: 0.948, 2020: 0.957, 2021: 0.962, 2022: 0.959,
                    2023: 0.946, 2024: 0.958, 2025: 0.953}
AMR_CARRY_2017 = 70  # cases opened in 2017 and closed in 2018
# mean handling time (days) the duration model aims at for cases closed in the year
AMR_MEAN_DAYS = {2018: 46, 2019: 45, 2020: 43, 2021: 42, 2022: 41, 2023: 39, 2024: 37, 2025: 34}

# ---------------------------------------------------------------- finance (by 登记日期)
PLEDGE_TYPES = ("专利权质押", "商标权质押", "著作权质押", "混合质押")
# registrations (not 已撤销) per year by type
PLEDGE_COUNTS = {
    2017: (120, 190, 10, 40),
    2018: (150, 200, 12, 50),
    2019: (205, 255, 16, 62),
    2020: (318, 345, 21, 80),
    2021: (420, 420, 28, 100),
    2022: (500, 490, 36, 120),
    2023: (560, 530, 40, 132),
    2024: (590, 550, 42, 136),
    2025: (640, 575, 45, 142),
}
# Σ 融资金额 in 元 per year by type (multiples of 100 元: amounts are 万元 with 2 decimals)
PLEDGE_AMOUNTS = {
    2017: (520_000_000, 700_000_000, 21_000_000, 160_000_000),
    2018: (662_300_000, 958_400_000, 26_800_000, 257_500_000),
    2019: (1_064_850_000, 1_338_200_000, 39_710_000, 360_800_000),
    2020: (2_603_480_000, 3_086_250_000, 62_806_800, 664_500_000),
    2021: (4_128_600_000, 4_532_000_000, 98_400_000, 1_071_000_000),
    2022: (5_203_100_000, 5_402_700_000, 131_900_000, 1_412_300_000),
    2023: (6_315_000_000, 6_220_500_000, 150_400_000, 1_914_100_000),
    2024: (7_120_800_000, 6_810_300_000, 166_200_000, 2_102_700_000),
    2025: (8_046_900_000, 7_402_400_000, 181_600_000, 2_719_100_000),
}
