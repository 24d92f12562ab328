"""Fixed catalogues the demo generator draws from: regions, teams, industries, products, names."""

from __future__ import annotations

REGIONS = ("east", "south", "north", "west", "central")
REGION_WEIGHTS = (0.30, 0.25, 0.20, 0.12, 0.13)

# code, region, English name, Chinese name
TEAMS = (
    ("EAST-1", "east", "East corporate banking 1", "华东公司金融一部"),
    ("EAST-2", "east", "East corporate banking 2", "华东公司金融二部"),
    ("SOUTH-1", "south", "South corporate banking 1", "华南公司金融一部"),
    ("SOUTH-2", "south", "South corporate banking 2", "华南公司金融二部"),
    ("NORTH-1", "north", "North corporate banking 1", "华北公司金融一部"),
    ("NORTH-2", "north", "North corporate banking 2", "华北公司金融二部"),
    ("WEST-1", "west", "West corporate banking", "西部公司金融部"),
    ("CENTRAL-1", "central", "Central corporate banking", "华中公司金融部"),
)

INDUSTRIES = (
    "manufacturing",
    "wholesale_retail",
    "technology",
    "healthcare",
    "energy",
    "construction",
    "logistics",
    "agrifood",
)
INDUSTRY_WEIGHTS = (0.24, 0.18, 0.14, 0.09, 0.08, 0.11, 0.09, 0.07)

# code, English, Chinese, category, margin rate, share of an account's wallet
PRODUCTS = (
    ("DEP", "Corporate deposits", "对公存款", "liabilities", 0.45, 0.16),
    ("LOAN", "Working-capital loans", "流动资金贷款", "credit", 0.30, 0.34),
    ("CASH", "Cash management", "现金管理", "transaction_banking", 0.55, 0.10),
    ("TRADE", "Trade finance", "贸易融资", "credit", 0.35, 0.12),
    ("FX", "FX and hedging", "外汇及避险", "markets", 0.50, 0.08),
    ("PAYROLL", "Payroll services", "代发工资", "transaction_banking", 0.60, 0.05),
    ("SCF", "Supply-chain finance", "供应链金融", "credit", 0.32, 0.09),
    ("WEALTH", "Corporate wealth management", "对公理财", "investment", 0.40, 0.06),
)

CITIES = {
    "east": ("上海", "苏州", "杭州", "宁波", "南京", "无锡", "合肥", "常州"),
    "south": ("深圳", "广州", "东莞", "佛山", "厦门", "福州", "珠海", "南宁"),
    "north": ("北京", "天津", "青岛", "济南", "石家庄", "大连", "沈阳", "太原"),
    "west": ("成都", "重庆", "西安", "昆明", "贵阳", "兰州"),
    "central": ("武汉", "长沙", "郑州", "南昌", "洛阳", "宜昌"),
}
BRAND_CHARS = "恒达华鑫瑞泰丰宏盛诚信联德源远新金通海天中科创博卓晟嘉隆安永润邦汇明锦东"
INDUSTRY_WORDS = {
    "manufacturing": ("精密制造", "机械", "电子", "新材料", "汽车零部件"),
    "wholesale_retail": ("商贸", "贸易", "百货", "进出口"),
    "technology": ("科技", "信息技术", "软件", "智能装备"),
    "healthcare": ("医药", "生物科技", "医疗器械"),
    "energy": ("能源", "新能源", "电力"),
    "construction": ("建设", "置业", "建筑工程"),
    "logistics": ("物流", "运输", "航运"),
    "agrifood": ("农业", "食品", "农牧"),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力"

CONTACT_TITLES = (
    ("decision_maker", "董事长"),
    ("decision_maker", "总经理"),
    ("champion", "财务总监"),
    ("influencer", "资金部经理"),
    ("user", "出纳主管"),
    ("influencer", "采购总监"),
    ("user", "会计"),
    ("blocker", "风控总监"),
)

INTERACTION_SUBJECTS = {
    "visit": "上门拜访：经营情况与融资需求沟通",
    "phone": "电话沟通：近期业务办理进度",
    "email": "邮件往来：产品方案与报价",
    "sms": "短信提醒：到期与续作提示",
    "wechat": "企业微信沟通：业务咨询",
    "video": "视频会议：季度经营回顾",
    "event": "客户活动：行业沙龙",
    "online": "网银在线咨询",
}

COMMENTS = {
    "promoter": (
        "客户经理响应很快，问题当天解决。",
        "现金管理平台好用，资金归集效率高。",
        "Relationship manager is responsive and knows our business.",
        "贷款审批比去年快了很多。",
        "Good FX pricing and clear hedging advice.",
    ),
    "passive": (
        "整体还可以，网银偶尔卡顿。",
        "Service is fine but pricing could be sharper.",
        "希望有更多行业专属方案。",
    ),
    "detractor": (
        "审批流程太慢，影响了我们的采购付款。",
        "费率偏高，其他银行给的条件更好。",
        "客户经理换了三次，每次都要重新介绍情况。",
        "Online banking outages during month-end closing.",
        "Fees are higher than other banks offered us.",
        "投诉处理没有回音。",
    ),
}

INTERVENTION_TITLES = {
    "care_visit": "关怀拜访",
    "business_review": "季度业务回顾（QBR）",
    "executive_sponsor_visit": "行领导高层拜访",
    "pricing_offer": "定价优惠方案",
    "cross_sell_campaign": "交叉销售营销活动",
    "service_recovery": "服务补救",
    "training": "网银与现金管理培训",
    "event_invite": "邀请参加客户活动",
}
INTERVENTION_COST = {
    "care_visit": 800.0,
    "business_review": 3000.0,
    "executive_sponsor_visit": 12000.0,
    "pricing_offer": 20000.0,
    "cross_sell_campaign": 2500.0,
    "service_recovery": 5000.0,
    "training": 1500.0,
    "event_invite": 2000.0,
}

# Specialist departments and the products they serve.
DEPARTMENTS = {
    "credit": ("LOAN",),
    "trade_finance": ("TRADE", "SCF"),
    "cash_management": ("CASH", "PAYROLL"),
    "fx": ("FX",),
    "wealth": ("WEALTH",),
}
SPECIALIST_SUBJECTS = {
    "credit": "授信方案沟通",
    "trade_finance": "贸易融资/供应链方案对接",
    "cash_management": "现金管理系统上线支持",
    "fx": "汇率避险方案交流",
    "wealth": "对公理财产品配置建议",
}
INTERACTION_NOTES = {
    1: (
        "客户对方案反馈积极，计划下季度扩大合作范围。",
        "财务总监认可我行服务响应速度。",
        "客户有新的海外业务，询问外汇结算方案。",
    ),
    0: (
        "例行沟通，客户暂无新增需求。",
        "更新了客户年度经营计划，下次回访跟进。",
        "客户关注利率走势，暂缓新增融资。",
    ),
    -1: (
        "客户对贷款审批时效不满，需尽快跟进。",
        "客户反映网银月末卡顿，已提交技术排查。",
        "竞争对手报价更低，客户考虑转移部分结算业务。",
    ),
}
