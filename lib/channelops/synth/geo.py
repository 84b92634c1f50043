"""Real cities (approximate coordinates), warehouses, names and phone styles."""

from __future__ import annotations

# city, province-level postcode prefix, lat, lon, city_tier, market
CITIES: list[tuple[str, str, float, float, int, str]] = [
    ("Beijing", "100", 39.90, 116.41, 1, "CN"),
    ("Shanghai", "200", 31.23, 121.47, 1, "CN"),
    ("Guangzhou", "510", 23.13, 113.26, 1, "CN"),
    ("Shenzhen", "518", 22.54, 114.06, 1, "CN"),
    ("Chengdu", "610", 30.57, 104.07, 2, "CN"),
    ("Hangzhou", "310", 30.27, 120.16, 2, "CN"),
    ("Chongqing", "400", 29.56, 106.55, 2, "CN"),
    ("Wuhan", "430", 30.59, 114.31, 2, "CN"),
    ("Xi'an", "710", 34.34, 108.94, 2, "CN"),
    ("Suzhou", "215", 31.30, 120.59, 2, "CN"),
    ("Nanjing", "210", 32.06, 118.80, 2, "CN"),
    ("Tianjin", "300", 39.34, 117.36, 2, "CN"),
    ("Changsha", "410", 28.23, 112.94, 2, "CN"),
    ("Zhengzhou", "450", 34.75, 113.63, 2, "CN"),
    ("Dongguan", "523", 23.02, 113.75, 2, "CN"),
    ("Qingdao", "266", 36.07, 120.38, 2, "CN"),
    ("Shenyang", "110", 41.81, 123.43, 2, "CN"),
    ("Ningbo", "315", 29.87, 121.54, 2, "CN"),
    ("Kunming", "650", 25.04, 102.71, 2, "CN"),
    ("Hefei", "230", 31.82, 117.23, 2, "CN"),
    ("Xiamen", "361", 24.48, 118.09, 2, "CN"),
    ("Fuzhou", "350", 26.07, 119.30, 3, "CN"),
    ("Jinan", "250", 36.65, 117.12, 3, "CN"),
    ("Harbin", "150", 45.80, 126.53, 3, "CN"),
    ("Nanning", "530", 22.82, 108.37, 3, "CN"),
    ("Guiyang", "550", 26.65, 106.63, 3, "CN"),
    ("Lanzhou", "730", 36.06, 103.83, 3, "CN"),
    ("Taiyuan", "030", 37.87, 112.55, 3, "CN"),
    ("Nanchang", "330", 28.68, 115.86, 3, "CN"),
    ("Shijiazhuang", "050", 38.04, 114.51, 3, "CN"),
    ("Urumqi", "830", 43.83, 87.62, 3, "CN"),
    ("Haikou", "570", 20.04, 110.34, 3, "CN"),
    ("Hohhot", "010", 40.84, 111.75, 3, "CN"),
    ("Luoyang", "471", 34.62, 112.45, 3, "CN"),
    ("Wenzhou", "325", 28.00, 120.67, 3, "CN"),
    ("New York", "100", 40.71, -74.01, 1, "US"),
    ("Los Angeles", "900", 34.05, -118.24, 1, "US"),
    ("San Francisco", "941", 37.77, -122.42, 1, "US"),
    ("Chicago", "606", 41.88, -87.63, 1, "US"),
    ("Houston", "770", 29.76, -95.37, 2, "US"),
    ("Seattle", "981", 47.61, -122.33, 2, "US"),
    ("Berlin", "101", 52.52, 13.40, 1, "EU"),
    ("Munich", "803", 48.14, 11.58, 1, "EU"),
    ("Paris", "750", 48.86, 2.35, 1, "EU"),
    ("Madrid", "280", 40.42, -3.70, 1, "EU"),
    ("Milan", "201", 45.46, 9.19, 2, "EU"),
    ("London", "EC1", 51.51, -0.13, 1, "UK"),
    ("Manchester", "M1 ", 53.48, -2.24, 2, "UK"),
    ("Singapore", "018", 1.29, 103.85, 1, "SG"),
]

# warehouse_id, city, daily capacity share, handling cost per order (CNY)
WAREHOUSES: list[tuple[str, str, float, float]] = [
    ("WH_SHA", "Shanghai", 0.34, 4.2),
    ("WH_CAN", "Guangzhou", 0.26, 3.8),
    ("WH_PEK", "Beijing", 0.22, 4.5),
    ("WH_CTU", "Chengdu", 0.12, 3.4),
    ("WH_WUH", "Wuhan", 0.06, 3.2),
]

# carrier, fixed cost CNY, per kg CNY, speed (km per day in transit), reliability sd
CARRIERS_DOMESTIC: list[tuple[str, float, float, float, float]] = [
    ("SF Express", 12.0, 4.0, 900.0, 0.25),
    ("JD Logistics", 10.0, 3.5, 850.0, 0.30),
    ("ZTO Express", 5.0, 1.8, 550.0, 0.45),
    ("YTO Express", 4.8, 1.8, 520.0, 0.50),
    ("STO Express", 4.5, 1.6, 480.0, 0.55),
]
CARRIERS_INTL: list[tuple[str, float, float, float, float]] = [
    ("DHL eCommerce", 45.0, 38.0, 1400.0, 0.30),
    ("Cainiao", 22.0, 26.0, 900.0, 0.45),
    ("YunExpress", 20.0, 24.0, 850.0, 0.50),
]

SURNAMES: list[tuple[str, str, float]] = [
    ("王", "Wang", 7.1), ("李", "Li", 7.0), ("张", "Zhang", 6.7), ("刘", "Liu", 5.4),
    ("陈", "Chen", 4.5), ("杨", "Yang", 3.1), ("黄", "Huang", 2.2), ("赵", "Zhao", 2.0),
    ("吴", "Wu", 1.9), ("周", "Zhou", 1.9), ("徐", "Xu", 1.5), ("孙", "Sun", 1.4),
    ("马", "Ma", 1.3), ("朱", "Zhu", 1.2), ("胡", "Hu", 1.1), ("郭", "Guo", 1.1),
    ("何", "He", 1.0), ("高", "Gao", 1.0), ("林", "Lin", 1.0), ("罗", "Luo", 0.9),
    ("郑", "Zheng", 0.8), ("梁", "Liang", 0.8), ("谢", "Xie", 0.7), ("宋", "Song", 0.6),
    ("唐", "Tang", 0.6), ("许", "Xu", 0.6), ("韩", "Han", 0.6), ("冯", "Feng", 0.5),
    ("邓", "Deng", 0.5), ("曹", "Cao", 0.5),
]
GIVEN: list[tuple[str, str]] = [
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("秀英", "Xiuying"), ("敏", "Min"),
    ("静", "Jing"), ("丽", "Li"), ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"),
    ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"), ("杰", "Jie"), ("娟", "Juan"),
    ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀兰", "Xiulan"), ("霞", "Xia"),
    ("平", "Ping"), ("刚", "Gang"), ("桂英", "Guiying"), ("鑫", "Xin"), ("宇", "Yu"),
    ("浩", "Hao"), ("婷", "Ting"), ("雪", "Xue"), ("欣怡", "Xinyi"), ("子涵", "Zihan"),
    ("梓萱", "Zixuan"), ("一诺", "Yinuo"), ("浩然", "Haoran"), ("宇轩", "Yuxuan"),
    ("思远", "Siyuan"), ("佳怡", "Jiayi"), ("建国", "Jianguo"), ("建华", "Jianhua"),
    ("志强", "Zhiqiang"), ("海燕", "Haiyan"), ("晓东", "Xiaodong"), ("丹", "Dan"),
    ("萍", "Ping"), ("红", "Hong"), ("玲", "Ling"), ("斌", "Bin"), ("波", "Bo"),
    ("辉", "Hui"), ("健", "Jian"), ("颖", "Ying"),
]
# typo substitutes: a similar-looking or same-sounding character
TYPO_CHARS = "玮芬那敏晶莉蔷垒君阳永燕洁鹃韬铭朝霞萍钢英欣雨皓亭雷鹏"
LATIN_FIRST: list[str] = [
    "Emily", "Michael", "Sarah", "David", "Anna", "James", "Laura", "Daniel", "Sophie",
    "Thomas", "Julia", "Lukas", "Emma", "Oliver", "Mia", "Noah", "Chloe", "Ethan", "Grace",
    "Lucas", "Hannah", "Leon", "Olivia", "Jack", "Isabella", "Ryan", "Ava", "Kevin",
    "Wei", "Jing", "Min", "Hui", "Ling", "Jun",
]
LATIN_LAST: list[str] = [
    "Smith", "Johnson", "Brown", "Miller", "Davis", "Garcia", "Wilson", "Martin", "Lee",
    "Tan", "Lim", "Ng", "Wong", "Chen", "Wang", "Zhang", "Li", "Mueller", "Schmidt",
    "Schneider", "Fischer", "Weber", "Dubois", "Moreau", "Rossi", "Taylor", "Clark",
    "Nguyen", "Kim", "Patel",
]
STREETS_ZH = ["人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "文化路", "新华路",
              "胜利路", "光明街", "滨江大道", "学府路", "科技路", "花园路", "青年路"]
DISTRICTS_ZH = ["东城区", "西城区", "南山区", "高新区", "开发区", "新区", "城关区", "江北区"]
STREETS_EN = ["Main St", "Oak Ave", "Park Rd", "High St", "Maple Dr", "Hauptstrasse",
              "Bahnhofstrasse", "Rue de la Paix", "Orchard Rd", "Church Ln", "King St",
              "Victoria Rd"]
EMAIL_DOMAINS_CN = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com"]
EMAIL_DOMAINS_INTL = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "gmx.de",
                      "hotmail.co.uk"]
PHONE_PREFIX_CN = ["138", "139", "136", "137", "135", "150", "151", "152", "158", "159",
                   "186", "187", "188", "189", "133", "153", "177", "180", "181", "199"]
PHONE_CC = {"CN": "86", "US": "1", "EU": "49", "UK": "44", "SG": "65"}

PRODUCT_NOUNS: dict[str, list[str]] = {
    "electronics": ["Wireless Earbuds", "Power Bank", "Smart Watch", "Bluetooth Speaker",
                    "Tablet", "Robot Vacuum", "Air Purifier", "Keyboard", "Camera"],
    "home": ["Bedding Set", "Storage Box", "Kettle", "Rice Cooker", "Towel Set", "Desk Lamp",
             "Cookware Set", "Cushion", "Mop"],
    "beauty": ["Face Serum", "Sunscreen", "Lipstick", "Face Mask", "Cleanser", "Eye Cream",
               "Perfume", "Toner"],
    "apparel": ["Down Jacket", "T-Shirt", "Jeans", "Sneakers", "Hoodie", "Dress", "Coat",
                "Sweater"],
    "food": ["Nut Mix", "Instant Noodles", "Coffee Beans", "Snack Box", "Dried Fruit",
             "Milk Powder", "Honey"],
    "baby": ["Diapers", "Baby Wipes", "Stroller", "Baby Bottle", "Toy Blocks", "Baby Lotion"],
    "accessories": ["Phone Case", "Handbag", "Sunglasses", "Scarf", "Hair Clip", "Wallet"],
    "tea": ["Longjing Tea", "Pu-erh Tea", "Oolong Tea", "Jasmine Tea", "Tea Set",
            "Matcha Powder"],
}
