"""Region codes (GB/T 2260) of reference/regions.csv, plus legacy codes used as traps."""

CITY = "330200"
DISTRICTS = ("330203", "330205", "330206", "330211", "330212", "330213", "330225", "330226", "330281", "330282")
VALID = (CITY,) + DISTRICTS
NAMES = {
    "330200": "宁波市",
    "330203": "海曙区",
    "330205": "江北区",
    "330206": "北仑区",
    "330211": "镇海区",
    "330212": "鄞州区",
    "330213": "奉化区",
    "330225": "象山县",
    "330226": "宁海县",
    "330281": "余姚市",
    "330282": "慈溪市",
}
# Codes a real export may still carry but reference/regions.csv does not know:
# 330204 江东区 (merged into 鄞州 2016), 330283 奉化市 (now 奉化区), 330299 (typo/test code).
UNKNOWN_CODES = ("330204", "330283", "330299")
# relative activity of the districts (economy / population)
DISTRICT_WEIGHTS = {
    "330203": 1.05,
    "330205": 0.62,
    "330206": 0.95,
    "330211": 0.55,
    "330212": 1.45,
    "330213": 0.40,
    "330225": 0.38,
    "330226": 0.42,
    "330281": 0.95,
    "330282": 1.10,
}
