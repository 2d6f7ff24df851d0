"""The sample shop's catalogue: categories, brands, titles, prices and popularity.

Eight top-level categories, each split into subcategories and leaf categories
(``"Electronics > Audio > Headphones"``). Every leaf has a median list price;
products scatter lognormally around it. About a quarter of the titles are
Chinese so CJK text runs through the whole pipeline, and some brands are
Chinese. Popularity is Zipf-like over the whole catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# A leaf: (English name, Chinese noun, median list price, English title noun).
LeafSpec = tuple[str, str, float, str]

# A top-level category: English name, subcategories with their leaves, brands as
# (display name, latin name), adjectives and title suffixes as (English, Chinese).
CATEGORIES: tuple[dict, ...] = (
    {
        "name": "Electronics",
        "subcategories": (
            ("Audio", (("Headphones", "蓝牙耳机", 89.0, "Headphones"), ("Speakers", "音箱", 59.0, "Speaker"),
                       ("Earbuds", "真无线耳机", 69.0, "Earbuds"))),
            ("Phones & Tablets", (("Smartphones", "手机", 499.0, "Smartphone"), ("Tablets", "平板电脑", 349.0, "Tablet"),
                                  ("Phone Cases", "手机壳", 15.0, "Phone Case"), ("Chargers", "充电器", 25.0, "Charger"))),
            ("Computers", (("Laptops", "笔记本电脑", 899.0, "Laptop"), ("Keyboards", "键盘", 59.0, "Keyboard"),
                           ("Monitors", "显示器", 229.0, "Monitor"), ("Mice", "鼠标", 29.0, "Mouse"))),
            ("Wearables", (("Smartwatches", "智能手表", 199.0, "Smartwatch"), ("Fitness Trackers", "手环", 49.0, "Fitness Tracker"))),
        ),
        "brands": (("Sony", "Sony"), ("Apple", "Apple"), ("Samsung", "Samsung"), ("Anker", "Anker"), ("Logitech", "Logitech"),
                   ("小米", "Xiaomi"), ("华为", "Huawei"), ("漫步者", "Edifier"), ("联想", "Lenovo")),
        "adjectives": (("Wireless", "无线"), ("Smart", "智能"), ("Portable", "便携"), ("Compact", "迷你"),
                       ("Premium", "高端"), ("Ultra-Slim", "轻薄")),
        "suffixes": (("Pro", "Pro"), ("Max", "Max"), ("Lite", "青春版"), ("2", "2代"), ("X", "旗舰版"), ("Plus", "Plus"), ("", "")),
    },
    {
        "name": "Home & Kitchen",
        "subcategories": (
            ("Kitchen Appliances", (("Rice Cookers", "电饭煲", 79.0, "Rice Cooker"), ("Air Fryers", "空气炸锅", 89.0, "Air Fryer"),
                                    ("Blenders", "破壁机", 69.0, "Blender"), ("Coffee Machines", "咖啡机", 149.0, "Coffee Machine"))),
            ("Cookware", (("Frying Pans", "炒锅", 39.0, "Frying Pan"), ("Knife Sets", "刀具套装", 49.0, "Knife Set"))),
            ("Home Decor", (("Lamps", "台灯", 45.0, "Lamp"), ("Bedding", "四件套", 59.0, "Bedding Set"),
                            ("Storage", "收纳盒", 19.0, "Storage Box"))),
        ),
        "brands": (("Philips", "Philips"), ("Tefal", "Tefal"), ("Dyson", "Dyson"), ("Zwilling", "Zwilling"), ("Nordic Living", "Nordic Living"),
                   ("美的", "Midea"), ("九阳", "Joyoung"), ("苏泊尔", "Supor"), ("小熊", "Bear")),
        "adjectives": (("Classic", "经典"), ("Stainless", "不锈钢"), ("Smart", "智能"), ("Non-Stick", "不粘"),
                       ("Family-Size", "家用大容量"), ("Minimalist", "简约")),
        "suffixes": (("Deluxe", "豪华款"), ("Essential", "基础款"), ("Set", "套装"), ("2024 Edition", "2024款"), ("", "")),
    },
    {
        "name": "Fashion",
        "subcategories": (
            ("Women", (("Dresses", "连衣裙", 49.0, "Dress"), ("Handbags", "手提包", 79.0, "Handbag"),
                       ("Knitwear", "针织衫", 39.0, "Cardigan"))),
            ("Men", (("Shirts", "衬衫", 35.0, "Shirt"), ("Jackets", "夹克", 89.0, "Jacket"), ("Jeans", "牛仔裤", 49.0, "Jeans"))),
            ("Shoes", (("Sneakers", "运动鞋", 89.0, "Sneakers"), ("Boots", "靴子", 109.0, "Boots"))),
        ),
        "brands": (("Uniqlo", "Uniqlo"), ("Zara", "Zara"), ("Levi's", "Levi's"), ("Nike", "Nike"), ("Adidas", "Adidas"),
                   ("李宁", "Li-Ning"), ("安踏", "Anta"), ("太平鸟", "Peacebird"), ("波司登", "Bosideng")),
        "adjectives": (("Slim-Fit", "修身"), ("Oversized", "宽松"), ("Cotton", "纯棉"), ("Vintage", "复古"),
                       ("Casual", "休闲"), ("Lightweight", "轻盈")),
        "suffixes": (("Black", "黑色"), ("Navy", "藏青"), ("White", "白色"), ("Beige", "米色"), ("", "新款")),
    },
    {
        "name": "Beauty",
        "subcategories": (
            ("Skincare", (("Moisturizers", "面霜", 29.0, "Moisturizer"), ("Serums", "精华液", 45.0, "Serum"),
                          ("Sunscreen", "防晒霜", 19.0, "Sunscreen"))),
            ("Makeup", (("Lipstick", "口红", 19.0, "Lipstick"), ("Foundation", "粉底液", 32.0, "Foundation"),
                        ("Eyeshadow", "眼影盘", 25.0, "Eyeshadow Palette"))),
            ("Fragrance", (("Perfume", "香水", 79.0, "Eau de Parfum"),)),
        ),
        "brands": (("L'Oréal", "L'Oreal"), ("Estée Lauder", "Estee Lauder"), ("Nivea", "Nivea"), ("Clinique", "Clinique"),
                   ("Maybelline", "Maybelline"), ("百雀羚", "Pechoin"), ("完美日记", "Perfect Diary"), ("花西子", "Florasis"),
                   ("薇诺娜", "Winona")),
        "adjectives": (("Hydrating", "保湿"), ("Matte", "哑光"), ("Gentle", "温和"), ("Long-Lasting", "持久"),
                       ("Brightening", "亮肤"), ("Natural", "天然")),
        "suffixes": (("30ml", "30ml"), ("50ml", "50ml"), ("Gift Set", "礼盒装"), ("Travel Size", "旅行装"), ("", "")),
    },
    {
        "name": "Sports & Outdoors",
        "subcategories": (
            ("Fitness", (("Yoga Mats", "瑜伽垫", 25.0, "Yoga Mat"), ("Dumbbells", "哑铃", 45.0, "Dumbbell Set"),
                         ("Resistance Bands", "弹力带", 12.0, "Resistance Band"))),
            ("Outdoor", (("Tents", "帐篷", 129.0, "Tent"), ("Backpacks", "双肩包", 55.0, "Backpack"),
                         ("Hiking Shoes", "登山鞋", 99.0, "Hiking Shoes"))),
            ("Cycling", (("Bikes", "自行车", 399.0, "Bike"), ("Helmets", "骑行头盔", 49.0, "Helmet"))),
        ),
        "brands": (("Decathlon", "Decathlon"), ("The North Face", "The North Face"), ("Columbia", "Columbia"), ("Giant", "Giant"),
                   ("Under Armour", "Under Armour"), ("李宁", "Li-Ning"), ("安踏", "Anta"), ("探路者", "Toread"),
                   ("凯乐石", "Kailas")),
        "adjectives": (("Waterproof", "防水"), ("Lightweight", "轻量"), ("Foldable", "可折叠"), ("Professional", "专业"),
                       ("Breathable", "透气"), ("All-Weather", "全天候")),
        "suffixes": (("Pro", "专业版"), ("Sport", "运动款"), ("2-Person", "双人"), ("Large", "大号"), ("", "")),
    },
    {
        "name": "Grocery",
        "subcategories": (
            ("Snacks", (("Nuts", "坚果", 12.0, "Mixed Nuts"), ("Chocolate", "巧克力", 8.0, "Chocolate"),
                        ("Dried Fruit", "果干", 9.0, "Dried Mango"))),
            ("Beverages", (("Tea", "茶叶", 15.0, "Green Tea"), ("Coffee", "咖啡豆", 18.0, "Coffee Beans"),
                           ("Sparkling Water", "气泡水", 6.0, "Sparkling Water"))),
            ("Pantry", (("Rice", "大米", 11.0, "Jasmine Rice"), ("Cooking Oil", "食用油", 9.0, "Cooking Oil"),
                        ("Noodles", "挂面", 5.0, "Noodles"))),
        ),
        "brands": (("Nestlé", "Nestle"), ("Lavazza", "Lavazza"), ("Twinings", "Twinings"), ("Lindt", "Lindt"),
                   ("Kellogg's", "Kellogg's"), ("三只松鼠", "Three Squirrels"), ("良品铺子", "Bestore"), ("百草味", "Be&Cheery"),
                   ("元气森林", "Genki Forest")),
        "adjectives": (("Organic", "有机"), ("Premium", "精选"), ("Roasted", "烘焙"), ("Sugar-Free", "无糖"),
                       ("Family Pack", "家庭装"), ("Classic", "经典")),
        "suffixes": (("500g", "500g"), ("1kg", "1kg"), ("12-Pack", "12瓶装"), ("Gift Box", "礼盒"), ("", "")),
    },
    {
        "name": "Books & Stationery",
        "subcategories": (
            ("Books", (("Fiction", "小说", 14.0, "Novel"), ("Business", "经管书", 19.0, "Business Guide"),
                       ("Children's Books", "童书", 11.0, "Picture Book"))),
            ("Stationery", (("Pens", "中性笔", 6.0, "Gel Pen Set"), ("Notebooks", "笔记本", 8.0, "Notebook"),
                            ("Desk Organizers", "桌面收纳", 15.0, "Desk Organizer"))),
        ),
        "brands": (("Penguin", "Penguin"), ("HarperCollins", "HarperCollins"), ("Moleskine", "Moleskine"), ("Pilot", "Pilot"),
                   ("Staedtler", "Staedtler"), ("得力", "Deli"), ("晨光", "M&G"), ("中信出版", "CITIC Press")),
        "adjectives": (("Bestselling", "畅销"), ("Illustrated", "插图版"), ("Hardcover", "精装"), ("Classic", "经典"),
                       ("Pocket", "口袋"), ("Collector's", "典藏")),
        "suffixes": (("Vol. 1", "第一卷"), ("Vol. 2", "第二卷"), ("Boxed Set", "套装"), ("A5", "A5"), ("", "")),
    },
    {
        "name": "Toys & Baby",
        "subcategories": (
            ("Toys", (("Building Blocks", "积木", 45.0, "Building Blocks"), ("Dolls", "娃娃", 25.0, "Doll"),
                      ("Board Games", "桌游", 30.0, "Board Game"))),
            ("Baby", (("Diapers", "纸尿裤", 29.0, "Diapers"), ("Strollers", "婴儿推车", 229.0, "Stroller"),
                      ("Baby Bottles", "奶瓶", 15.0, "Baby Bottle"))),
        ),
        "brands": (("LEGO", "LEGO"), ("Mattel", "Mattel"), ("Hasbro", "Hasbro"), ("Pampers", "Pampers"),
                   ("Fisher-Price", "Fisher-Price"), ("好孩子", "Goodbaby"), ("巴拉巴拉", "Balabala"), ("可优比", "KUB")),
        "adjectives": (("Educational", "益智"), ("Soft", "柔软"), ("Safe", "安全"), ("Colorful", "彩色"),
                       ("Deluxe", "豪华"), ("Travel", "便携")),
        "suffixes": (("Starter Set", "入门套装"), ("Size M", "M码"), ("Size L", "L码"), ("Ages 3+", "3岁+"), ("", "")),
    },
)

TOP_LEVEL_NAMES: tuple[str, ...] = tuple(category["name"] for category in CATEGORIES)

# Spread of list prices around a leaf's median (log scale): with 0.45 about one
# product in five costs more than 1.5x the median, enough to measure the
# expensive-cart effect on small samples.
PRICE_SIGMA = 0.45
# Zipf-like popularity: weight = (rank + offset) ** -exponent over the catalogue.
POPULARITY_EXPONENT = 0.9
POPULARITY_OFFSET = 10.0
# Share of listings that are out of stock: they are viewed but can never be
# carted, so some products never sell at any sample size.
OUT_OF_STOCK_SHARE = 0.02
# Chance that a product's title is Chinese, by whether its brand is Chinese.
CHINESE_TITLE_SHARE = {True: 0.5, False: 0.08}
# Search vocabulary per leaf: English templates first, then Chinese ones.
QUERIES_EN = 5
QUERIES_ZH = 3


@dataclass(frozen=True)
class Catalog:
    """The generated catalogue, indexed 0..n_products-1 in leaf order.

    Products of one leaf are contiguous (``leaf_start[k]:leaf_end[k]``) and
    leaves of one top-level category are contiguous, so weighted draws inside a
    category are one ``searchsorted`` on a cumulative weight array.
    """

    product_id: pa.Array  # string, "P00042"
    title: pa.Array  # string
    brand: pa.Array  # string
    list_price: np.ndarray  # float64, cents-rounded
    leaf: np.ndarray  # int, leaf index per product
    top: np.ndarray  # int, top-level index per product
    weight: np.ndarray  # float64, popularity (sums to 1)
    cum_weight: np.ndarray  # float64, [0, w0, w0+w1, ...], length n_products + 1
    in_stock: np.ndarray  # bool
    expensive: np.ndarray  # bool, list_price > EXPENSIVE ratio x leaf median
    leaf_path: tuple[str, ...]  # "Top > Sub > Leaf" per leaf
    leaf_top: np.ndarray  # int, top-level index per leaf
    leaf_start: np.ndarray  # int, first product of each leaf
    leaf_end: np.ndarray  # int, one past the last product of each leaf
    leaf_median: np.ndarray  # float64, median list price per leaf
    leaf_cum_weight: np.ndarray  # float64, [0, ...] cumulative leaf popularity, length n_leaves + 1
    top_leaf_start: np.ndarray  # int, first leaf of each top-level category
    top_leaf_end: np.ndarray  # int, one past the last leaf of each top-level category
    queries: pa.Array  # string, n_leaves * (QUERIES_EN + QUERIES_ZH) search phrases, leaf-major

    @property
    def n_products(self) -> int:
        return len(self.list_price)

    def table(self, schema: pa.Schema) -> pa.Table:
        """Return the products table in ``schema`` column order, sorted by product_id."""
        paths = pa.array(self.leaf_path, pa.string())
        table = pa.table(
            {
                "product_id": self.product_id,
                "title": self.title,
                "category_path": pc.take(paths, pa.array(self.leaf)),
                "brand": self.brand,
                "list_price": pa.array(self.list_price, pa.float64()),
            }
        )
        return table.sort_by("product_id").select(schema.names).cast(schema)


def _psychological_price(raw: np.ndarray) -> np.ndarray:
    """Round raw prices to shop-like price points (9.99, 4.49, 199.99), in cents."""
    high = np.maximum(np.round(raw), 1.0) - 0.01
    low = np.maximum(np.round(raw * 2.0) / 2.0, 1.0) - 0.01
    return np.round(np.where(raw >= 10.0, high, low), 2)


def _join(parts: list[pa.Array | str], separator: str = " ") -> pa.Array:
    """Join string arrays element-wise and squeeze the blanks left by empty parts."""
    joined = pc.binary_join_element_wise(*parts, separator)
    return pc.utf8_trim_whitespace(pc.replace_substring(joined, "  ", " "))


def build_catalog(rng: np.random.Generator, n_products: int, expensive_ratio: float) -> Catalog:
    """Build the catalogue.

    Args:
        rng: generator the catalogue draws from (a child of the sample seed).
        n_products: number of products, >= 3 per leaf (smaller values are raised).
        expensive_ratio: a product is "expensive" above this multiple of its leaf's median list price.

    Returns:
        The catalogue; ``product_id`` is a random permutation of P00001..P{n}.
    """
    leaf_names, leaf_zh, leaf_price, leaf_noun, leaf_top, leaf_path = [], [], [], [], [], []
    for top_index, category in enumerate(CATEGORIES):
        for sub_name, leaves in category["subcategories"]:
            for name, zh, price, noun in leaves:
                leaf_names.append(name)
                leaf_zh.append(zh)
                leaf_price.append(price)
                leaf_noun.append(noun)
                leaf_top.append(top_index)
                leaf_path.append(f"{category['name']} > {sub_name} > {name}")
    n_leaves = len(leaf_names)
    leaf_top_arr = np.array(leaf_top)
    n_products = max(n_products, 3 * n_leaves)

    # Uneven assortment breadth: some leaves carry many more products than others.
    breadth = rng.gamma(2.0, 1.0, n_leaves)
    per_leaf = 3 + rng.multinomial(n_products - 3 * n_leaves, breadth / breadth.sum())
    leaf = np.repeat(np.arange(n_leaves), per_leaf)
    leaf_end = np.cumsum(per_leaf)
    leaf_start = leaf_end - per_leaf
    top = leaf_top_arr[leaf]

    # Brands: a flat list with each top-level category's brands contiguous, and a
    # few dominant brands per category (Zipf-ish weights in random order).
    brand_names, brand_latin, brand_top, brand_weight = [], [], [], []
    for top_index, category in enumerate(CATEGORIES):
        k = len(category["brands"])
        weights = (np.arange(k) + 1.0) ** -0.8
        rng.shuffle(weights)
        for (name, latin), w in zip(category["brands"], weights):
            brand_names.append(name)
            brand_latin.append(latin)
            brand_top.append(top_index)
            brand_weight.append(w)
    brand_top_arr = np.array(brand_top)
    brand_cum = np.concatenate([[0.0], np.cumsum(brand_weight)])
    top_brand_start = np.searchsorted(brand_top_arr, np.arange(len(CATEGORIES)), side="left")
    top_brand_end = np.searchsorted(brand_top_arr, np.arange(len(CATEGORIES)), side="right")
    lo, hi = brand_cum[top_brand_start[top]], brand_cum[top_brand_end[top]]
    brand = np.searchsorted(brand_cum, lo + rng.random(n_products) * (hi - lo), side="right") - 1
    brand = np.clip(brand, top_brand_start[top], top_brand_end[top] - 1)
    brand_is_chinese = np.array([any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in brand_names])
    # Brands have a price level of their own (premium vs value brands).
    brand_premium = np.exp(rng.normal(0.0, 0.15, len(brand_names)))

    raw_price = np.asarray(leaf_price)[leaf] * brand_premium[brand] * np.exp(rng.normal(0.0, PRICE_SIGMA, n_products))
    list_price = _psychological_price(raw_price)
    leaf_median = np.array([np.median(list_price[s:e]) for s, e in zip(leaf_start, leaf_end)])
    expensive = list_price > expensive_ratio * leaf_median[leaf]

    chinese = rng.random(n_products) < np.where(brand_is_chinese[brand], CHINESE_TITLE_SHARE[True], CHINESE_TITLE_SHARE[False])
    titles = _titles(rng, leaf, top, brand, chinese, leaf_noun, leaf_zh, brand_names, brand_latin)

    # Popularity: a random rank over the whole catalogue, Zipf-like weights.
    rank = rng.permutation(n_products)
    weight = (rank + POPULARITY_OFFSET) ** -POPULARITY_EXPONENT
    weight /= weight.sum()
    cum_weight = np.concatenate([[0.0], np.cumsum(weight)])
    leaf_weight = np.add.reduceat(weight, leaf_start)
    leaf_cum_weight = np.concatenate([[0.0], np.cumsum(leaf_weight)])

    # Out-of-stock listings are picked outside the 100 best sellers so they do
    # not distort the traffic mix.
    candidates = np.flatnonzero(rank >= min(100, n_products // 2))
    out = rng.choice(candidates, size=max(1, int(round(OUT_OF_STOCK_SHARE * n_products))), replace=False)
    in_stock = np.ones(n_products, dtype=bool)
    in_stock[out] = False

    ids = pc.binary_join_element_wise(
        "P", pc.utf8_lpad(pc.cast(pa.array(rng.permutation(n_products) + 1), pa.string()), width=5, padding="0"), ""
    )
    return Catalog(
        product_id=ids,
        title=titles,
        brand=pc.take(pa.array(brand_names, pa.string()), pa.array(brand)),
        list_price=list_price,
        leaf=leaf,
        top=top,
        weight=weight,
        cum_weight=cum_weight,
        in_stock=in_stock,
        expensive=expensive,
        leaf_path=tuple(leaf_path),
        leaf_top=leaf_top_arr,
        leaf_start=leaf_start,
        leaf_end=leaf_end,
        leaf_median=leaf_median,
        leaf_cum_weight=leaf_cum_weight,
        top_leaf_start=np.searchsorted(leaf_top_arr, np.arange(len(CATEGORIES)), side="left"),
        top_leaf_end=np.searchsorted(leaf_top_arr, np.arange(len(CATEGORIES)), side="right"),
        queries=_queries(leaf_top_arr, leaf_noun, leaf_zh, brand_names, brand_latin, brand_top_arr, brand_is_chinese),
    )


def _titles(
    rng: np.random.Generator,
    leaf: np.ndarray,
    top: np.ndarray,
    brand: np.ndarray,
    chinese: np.ndarray,
    leaf_noun: list[str],
    leaf_zh: list[str],
    brand_names: list[str],
    brand_latin: list[str],
) -> pa.Array:
    """Compose titles: "Sony Wireless Headphones Pro" or "小米 无线蓝牙耳机 Pro"."""
    n = len(leaf)
    adjectives_en, adjectives_zh, suffixes_en, suffixes_zh, adj_index, suffix_index = [], [], [], [], np.zeros(n, int), np.zeros(n, int)
    for top_index, category in enumerate(CATEGORIES):
        members = np.flatnonzero(top == top_index)
        adj_index[members] = len(adjectives_en) + rng.integers(0, len(category["adjectives"]), len(members))
        suffix_index[members] = len(suffixes_en) + rng.integers(0, len(category["suffixes"]), len(members))
        adjectives_en += [en for en, _ in category["adjectives"]]
        adjectives_zh += [zh for _, zh in category["adjectives"]]
        suffixes_en += [en for en, _ in category["suffixes"]]
        suffixes_zh += [zh for _, zh in category["suffixes"]]

    def take(values: list[str], index: np.ndarray) -> pa.Array:
        return pc.take(pa.array(values, pa.string()), pa.array(index))

    english = _join([take(brand_latin, brand), take(adjectives_en, adj_index), take(leaf_noun, leaf), take(suffixes_en, suffix_index)])
    zh_name = pc.binary_join_element_wise(take(adjectives_zh, adj_index), take(leaf_zh, leaf), "")
    chinese_title = _join([take(brand_names, brand), zh_name, take(suffixes_zh, suffix_index)])
    return pc.if_else(pa.array(chinese), chinese_title, english)


def _queries(
    leaf_top: np.ndarray,
    leaf_noun: list[str],
    leaf_zh: list[str],
    brand_names: list[str],
    brand_latin: list[str],
    brand_top: np.ndarray,
    brand_is_chinese: np.ndarray,
) -> pa.Array:
    """Search phrases per leaf: QUERIES_EN English ones, then QUERIES_ZH Chinese ones."""
    phrases: list[str] = []
    for k, top_index in enumerate(leaf_top):
        category = CATEGORIES[top_index]
        brands = np.flatnonzero(brand_top == top_index)
        western = next(b for b in brands if not brand_is_chinese[b])
        chinese = next((b for b in brands if brand_is_chinese[b]), western)
        noun, zh = leaf_noun[k].lower(), leaf_zh[k]
        adjective_en, adjective_zh = category["adjectives"][k % len(category["adjectives"])]
        phrases += [noun, f"{adjective_en.lower()} {noun}", f"{brand_latin[western].lower()} {noun}", f"cheap {noun}", f"{noun} sale"]
        phrases += [zh, f"{adjective_zh}{zh}", f"{brand_names[chinese]} {zh}"]
    return pa.array(phrases, pa.string())
