"""A year of petitions (信访) and grid events (网格事件) in the demo, so every case page has
something to show.

Every case goes through the cases app's own actions (``wangge.cases.actions``), each given the
moment it happened with the actions' ``now=`` keyword, so the timeline steps, the clocks and the
audit entries are the real ones; only the audit entries' own timestamps are the build's. Cases
are received over the past year; the older ones mostly closed, the recent ones at every stage,
a few left behind (overdue) and a few close to their deadline (due soon), as in a real office.

The reference story is played in full: a man who could not retire because he could not pay
his pension arrears, on minimum-income support (低保) — received at the desk, visited at home,
ruled 无理, assigned to civil affairs, the 30,000 yuan of arrears paid through social
assistance, solved, verified, satisfied, closed. The model community (灵西社区) gets grid events
only: its problems are solved at the grid, before they become petitions.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from wangge.areas.models import Area
from wangge.cases import actions, repeats
from wangge.cases.models import Case, Category, Department, Kind
from wangge.registry.models import CareCategory, CareTag, Resident

CASES_AT_DEFAULT = 300  # at the default 12,000 residents
CASES_MIN = 60
CASES_MAX = 600  # whatever the district's size: the build stays quick
PETITION_SHARE = 0.25
COLLECTIVE_SHARE = 0.1  # of petitions
STUCK_SHARE = 0.08  # cases that stop at some stage and run over their deadline
DECLINED_SHARE = 0.04  # of petitions
DEPARTMENT = "civil-affairs"  # the demo department handler's department (民政)
STORY_ARREARS = Decimal("30000.00")
# The oldest overdue cases of each phase escalated here (the build stays quick); the worker's
# job escalates the rest when the demo runs.
ESCALATE_AT_MOST = 2
PUBLIC_URL = "http://127.0.0.1:8000"  # the satisfaction link's site; only its digest is kept

# What residents bring, per category: (text, what was found on the visit, what was done).
TEXTS: dict[str, list[tuple[str, str, str]]] = {
    "facilities": [
        ("楼道声控灯坏了，晚上老人上下楼看不见", "三楼至五楼声控灯不亮", "物业更换声控灯三盏"),
        ("单元门门禁损坏，外人随意进出", "门禁锁舌脱落", "街道协调物业修复门禁"),
        ("小区健身器材螺丝松动，孩子玩耍有危险", "两台器材松动", "紧固并加装警示牌"),
        ("路灯不亮，夜间出行不便", "小区主路两盏路灯损坏", "城管更换灯具"),
    ],
    "neighbour-dispute": [
        ("楼上漏水渗到我家天棚，楼上不给修", "卫生间防水层破损", "调解后楼上住户出资修复防水"),
        ("邻居在楼道堆放杂物，影响通行和消防", "楼道堆放纸箱和旧家具", "调解后邻居自行清理"),
        ("楼上夜间噪音大，多次沟通无果", "双方情绪对立", "网格员上门调解，双方签订邻里公约"),
        ("邻居养狗不拴绳，孩子被吓到", "犬只未办证", "调解并协助办理犬证"),
    ],
    "hazard": [
        ("楼道里有人私拉电线给电动车充电", "三单元一楼飞线充电", "拆除飞线，引导至集中充电桩"),
        ("小区门口井盖缺失", "井盖被盗，已设临时围挡", "城管补装井盖"),
        ("老旧燃气管道有异味", "燃气公司检测有轻微泄漏", "燃气公司更换管段"),
        ("屋顶广告牌松动，大风天有坠落危险", "固定螺栓锈蚀", "责令业主拆除广告牌"),
    ],
    "environment": [
        ("垃圾站几天没人清运，气味很大", "垃圾满溢", "环卫加派车辆清运"),
        ("小区绿地被占用种菜", "约二十平方米绿地被开垦", "劝导恢复绿地"),
        ("饭店油烟直排，影响楼上住户", "未安装油烟净化器", "督促商户安装净化设备"),
    ],
    "unpaid-benefit": [
        ("高龄补贴三个月没有到账", "银行卡已挂失换卡", "更新发放账户，补发补贴"),
        ("残疾人两项补贴停发了", "年审材料未提交", "协助补交材料，恢复发放"),
    ],
    "pension-social-security": [
        ("退休后养老金计算有误，要求重新核算", "缴费年限记录缺失两年", "补录缴费记录，重新核定待遇"),
        ("企业破产后医保断缴，无法报销", "原单位已注销", "协助以灵活就业身份续保"),
    ],
    "social-assistance": [
        ("家里收入低，申请低保被拒", "家庭人均收入略高于标准", "纳入临时救助，三个月后复核"),
        ("患大病后生活困难，申请救助", "住院自付费用较高", "办理医疗救助和临时救助"),
    ],
    "housing-demolition": [
        ("棚改回迁房迟迟不交付", "项目工期延误", "住建局约谈开发商，明确交付时间"),
        ("拆迁补偿款计算有争议", "面积测量存在分歧", "重新测量并出具说明"),
    ],
    "wages-labour": [
        ("在工地干活半年，工资一直拖欠", "涉及工人十余名", "人社局督促总包单位支付欠薪"),
        ("公司不签劳动合同也不交社保", "用人单位确有违规", "责令补签合同并补缴社保"),
    ],
    "other-petition": [
        ("对小区物业收费标准有意见", "收费标准与备案一致", "解释政策，督促物业公开账目"),
        ("反映社区工作人员服务态度差", "情况属实", "批评教育并向反映人道歉"),
    ],
}
EXEMPT_REASONS = ["反映人拒绝入户，已电话沟通", "反映人长期在外地居住"]
REPLIES = {
    "reasonable": "经调查，您反映的问题属实，已责成相关部门办理，现答复如下。",
    "partly": "经调查，您反映的问题部分属实，已对属实部分进行处理。",
    "unreasonable": "经调查，您的诉求不符合现行政策规定，不予支持；相关困难已另行帮扶。",
}


@dataclass
class Story:
    """What the demo's cases part made, for the summary and the tests."""

    cases: int = 0
    petitions: int = 0
    reference: int | None = None  # the pension-arrears petition
    by_stage: dict[str, int] = field(default_factory=dict)
    photos: int = 0
    reviews: int = 0
    escorts: int = 0
    links: int = 0
    repeats: int = 0
    cross_level: int = 0
    escalations: int = 0


def department_name() -> str:
    department = Department.objects.filter(code=DEPARTMENT).first()
    return department.name if department is not None else DEPARTMENT


def case_count(residents: int) -> int:
    """About 300 cases at the default size, growing with the square root of the district and
    capped, so the full district stays quick."""
    scaled = round(CASES_AT_DEFAULT * (residents / 12_000) ** 0.5)
    return max(CASES_MIN, min(CASES_MAX, scaled))


class _Player:
    def __init__(
        self,
        *,
        grids: list[Area],
        residents: list[tuple[int, int, int]],
        users: dict[str, Any],
        workers: dict[int, Any],
        model_community: int | None,
        street: int | None,
        seed: int,
        now: dt.datetime,
    ) -> None:
        self.rng = random.Random(seed * 7919 + 11)
        self.users = users
        self.workers = workers
        self.model = model_community
        self.street = street
        self.now = now
        self.categories = {c.code: c for c in Category.objects.filter(active=True).select_related("department")}
        self.departments = {d.code: d for d in Department.objects.filter(active=True)}
        self.adults: dict[int, list[int]] = {}
        for pk, grid, age in residents:
            if age >= 18:
                self.adults.setdefault(grid, []).append(pk)
        self.grids = [g for g in grids if self.adults.get(g.pk)]
        self.petition_grids = [g for g in self.grids if g.community_id != model_community] or []
        self.story = Story()

    # -- actors ------------------------------------------------------------------------

    def worker(self, case: Case) -> Any:
        return self.workers.get(case.grid_id or 0) or self.users["demo-grid"]

    def decider(self, case: Case) -> Any:
        if case.kind == Kind.PETITION:
            return self.users["demo-petition"]
        if case.community_id == self.model:
            return self.users["demo-community"]
        if case.street_id == self.street:
            return self.users["demo-street"]
        return self.users["demo-district"]

    def handler(self, case: Case) -> Any:
        """Who writes the reply and records what was done: the department's handler when the
        demo has one for it, else the grid worker (events) or the petition office."""
        if case.lead_department_id == self.departments[DEPARTMENT].pk:
            return self.users["demo-department"]
        return self.worker(case) if case.kind == Kind.EVENT else self.users["demo-petition"]

    def verifier(self, case: Case) -> Any:
        # Never the handler, never a member of the lead department (the action refuses both).
        return self.users["demo-district"]

    # -- time ---------------------------------------------------------------------------

    def later(self, at: dt.datetime, low_hours: float, high_hours: float) -> dt.datetime:
        at = at + dt.timedelta(hours=self.rng.uniform(low_hours, high_hours))
        # Office hours, mostly: move a step at night to the next morning.
        if at.astimezone(timezone.get_default_timezone()).hour < 8:
            at += dt.timedelta(hours=8)
        return at

    # -- one case -----------------------------------------------------------------------

    def play(
        self,
        *,
        category: Category,
        grid: Area,
        received_at: dt.datetime,
        stop: str | None,
        collective: bool = False,
        declined: bool = False,
        quick: bool = False,
        photos: tuple[bytes, ...] = (),
    ) -> Case:
        """Receive a case and take it as far as ``stop`` (or as far as time allows). A case
        with ``photos`` is reported from the field by the grid's worker."""
        rng = self.rng
        text, found, done = rng.choice(TEXTS[category.code])
        petition = category.kind == Kind.PETITION
        people = rng.sample(
            self.adults[grid.pk], min(len(self.adults[grid.pk]), rng.randint(3, 8) if collective else 1)
        )
        anonymous = not petition and rng.random() < 0.3
        if petition:
            channel = rng.choice(
                [Case.Channel.WALK_IN] * 4 + [Case.Channel.PHONE] * 2 + [Case.Channel.LETTER, Case.Channel.LEADER_DAY]
            )
            receiver = self.users["demo-petition"]
        else:
            channel = rng.choice([Case.Channel.FIELD] * 3 + [Case.Channel.PHONE])
            receiver = self.workers.get(grid.pk) or self.users["demo-grid"]
        if photos:
            channel, receiver = Case.Channel.FIELD, self.workers.get(grid.pk) or self.users["demo-grid"]
        count = len(people) + (rng.randint(5, 25) if collective else 0)
        case = actions.case_receive(
            by=receiver,
            category=category,
            text=("（集体反映）" if collective else "") + text,
            channel=channel,
            petitioners=[] if anonymous else Resident.objects.filter(pk__in=people),
            collective_count=1 if anonymous else count,
            area=grid,
            photos=photos,
            now=received_at,
        )
        self.story.cases += 1
        self.story.petitions += petition
        stage = "received"
        at = received_at
        steps = self._steps(case, found=found, done=done, declined=declined)
        for name, low, high, step in steps:
            at = at + dt.timedelta(hours=1) if quick else self.later(at, low, high)
            if at >= self.now or stage == stop:
                break
            case = step(case, at)
            stage = name
            if name == "declined":
                break
        self.story.by_stage[stage] = self.story.by_stage.get(stage, 0) + 1
        return case

    def _steps(self, case: Case, *, found: str, done: str, declined: bool) -> list[tuple[str, float, float, Any]]:
        rng = self.rng
        petition = case.kind == Kind.PETITION
        decider = self.decider(case)

        def accept(c: Case, at: dt.datetime) -> Case:
            return actions.case_accept(case=c, by=decider, now=at)

        def decline(c: Case, at: dt.datetime) -> Case:
            return actions.case_accept(
                case=c, by=decider, accept=False, note="反映事项已经司法程序处理，不属于信访受理范围", now=at
            )

        def visit(c: Case, at: dt.datetime) -> Case:
            if rng.random() < 0.08 and c.kind == Kind.PETITION:
                return actions.visit_exempt(case=c, by=decider, reason=rng.choice(EXEMPT_REASONS), now=at)
            return actions.visit_record(case=c, by=self.worker(c), met="反映人本人", found=found, now=at)

        def assign(c: Case, at: dt.datetime) -> Case:
            lead = c.lead_department or c.category.department or self.departments["community"]
            co = [self.departments[DEPARTMENT]] if petition and lead.code != DEPARTMENT and rng.random() < 0.2 else []
            return actions.case_assign(case=c, by=decider, department=lead, co_departments=co, now=at)

        def merit(c: Case, at: dt.datetime) -> Case:
            value = rng.choice(["reasonable"] * 5 + ["partly"] * 3 + ["unreasonable"] * 2)
            return actions.merit_decide(case=c, by=decider, merit=value, now=at)

        def reply(c: Case, at: dt.datetime) -> Case:
            text = REPLIES.get(c.merit, REPLIES["reasonable"])
            return actions.reply_write(case=c, by=self.handler(c), text=text, now=at)

        def resolve(c: Case, at: dt.datetime) -> Case:
            value = rng.choice(["solved"] * 8 + ["partly", "not_solved"])
            cost = Decimal(rng.randrange(200, 8000, 100)) if rng.random() < 0.3 else None
            return actions.resolution_record(
                case=c,
                by=self.handler(c),
                resolution=value,
                done=done,
                done_by=str(c.lead_department or ""),
                cost_yuan=cost,
                now=at,
            )

        def verify(c: Case, at: dt.datetime) -> Case:
            return actions.case_verify(case=c, by=self.verifier(c), note="电话回访核实", now=at)

        def satisfaction(c: Case, at: dt.datetime) -> Case:
            value = rng.choice(["satisfied"] * 7 + ["basically"] * 2 + ["dissatisfied"])
            return actions.satisfaction_record(case=c, by=self.worker(c), satisfaction=value, now=at)

        def close(c: Case, at: dt.datetime) -> Case:
            return actions.case_close(case=c, by=decider, now=at)

        if declined:
            return [("declined", 24, 240, decline)]
        if petition:
            return [
                ("accepted", 4, 200, accept),
                ("visited", 12, 120, visit),
                ("assigned", 2, 48, assign),
                ("ruled", 48, 400, merit),
                ("replied", 24, 300, reply),
                ("solved", 24, 400, resolve),
                ("verified", 24, 120, verify),
                ("satisfied", 12, 96, satisfaction),
                ("closed", 4, 72, close),
            ]
        steps: list[tuple[str, float, float, Any]] = [("accepted", 0.5, 20, accept)]
        if case.category.home_visit_required:
            steps.append(("visited", 2, 24, visit))
        steps += [
            ("assigned", 1, 12, assign),
            ("solved", 6, 120, resolve),
            ("verified", 6, 48, verify),
            ("satisfied", 2, 48, satisfaction),
            ("closed", 2, 24, close),
        ]
        return steps

    # -- the year -----------------------------------------------------------------------

    def year(self, count: int) -> None:
        rng = self.rng
        events = [c for c in self.categories.values() if c.kind == Kind.EVENT and c.code in TEXTS]
        petitions = [c for c in self.categories.values() if c.kind == Kind.PETITION and c.code in TEXTS]
        stages = ["accepted", "visited", "assigned", "ruled", "replied", "solved", "verified"]
        for i in range(count):
            petition = bool(self.petition_grids) and bool(petitions) and rng.random() < PETITION_SHARE
            category = rng.choice(petitions if petition else events)
            grid = rng.choice(self.petition_grids if petition else self.grids)
            # More cases recently than a year ago (the desk got busier), none in the future.
            days = 365 * rng.random() ** 1.4
            received_at = self.now - dt.timedelta(days=days, hours=rng.uniform(0, 10))
            stop = rng.choice(stages) if rng.random() < STUCK_SHARE else None
            self.play(
                category=category,
                grid=grid,
                received_at=received_at,
                stop=stop,
                collective=petition and rng.random() < COLLECTIVE_SHARE,
                declined=petition and rng.random() < DECLINED_SHARE,
            )
            if i == count // 2:
                self.deadlines(events, petitions)

    def deadlines(self, events: list[Category], petitions: list[Category]) -> None:
        """A few cases right at their deadlines today: due soon and just overdue."""
        rng = self.rng
        day = dt.timedelta(days=1)
        daily = [c for c in events if (c.respond_hours or 24) >= 24]
        for category in daily[:3]:  # unanswered events, under 12 hours left to respond
            grid = rng.choice(self.grids)
            hours = (category.respond_hours or 24) - rng.uniform(1, 8)
            self.play(category=category, grid=grid, received_at=self.now - dt.timedelta(hours=hours), stop="received")
        quick = [c for c in events if (c.solve_days or 7) <= 7]
        for category in quick[:2]:  # accepted twelve days ago, still not resolved: overdue
            self.play(category=category, grid=rng.choice(self.grids), received_at=self.now - 12 * day, stop="assigned")
        if not self.petition_grids:
            return
        # One recent petition at every stage, however small the demo.
        for stage in ("accepted", "visited", "assigned", "ruled", "replied", "solved", "verified", "satisfied"):
            self.play(
                category=rng.choice(petitions),
                grid=rng.choice(self.petition_grids),
                received_at=self.now - dt.timedelta(days=rng.uniform(3, 10)),
                stop=stage,
                quick=True,
            )
        self.play(
            category=petitions[-1],
            grid=rng.choice(self.petition_grids),
            received_at=self.now - 30 * day,
            stop=None,
            declined=True,
        )
        for category in petitions[:2]:
            grid = rng.choice(self.petition_grids)
            # Undecided on its 14th day: due soon; undecided on its 20th: overdue.
            self.play(category=category, grid=grid, received_at=self.now - 14 * day, stop="received")
            # (an undecided petition's clock runs to the end of its 15th day after receipt)
            self.play(category=category, grid=grid, received_at=self.now - 20 * day, stop="received")
            # Accepted 58 days ago and not yet answered: due soon; 75 days ago: overdue.
            almost = self.now - 58 * day - dt.timedelta(hours=12)
            self.play(category=category, grid=grid, received_at=almost, stop="ruled", quick=True)
            self.play(category=category, grid=grid, received_at=self.now - 80 * day, stop="assigned", quick=True)
        grid = rng.choice(self.petition_grids)  # a collective petition still being handled
        self.play(category=petitions[-1], grid=grid, received_at=self.now - 9 * day, stop="assigned", collective=True)

    # -- the reference story ------------------------------------------------------------

    def reference(self, petitioner: Resident) -> Case:
        """The pension-arrears petition, played end to end over about two months."""
        users = self.users
        desk = office = users["demo-petition"]
        worker = self.workers.get(petitioner.grid_id or 0) or users["demo-grid"]
        start = timezone.localtime(self.now - dt.timedelta(days=150)).replace(
            hour=9, minute=30, second=0, microsecond=0
        )

        def at(days: int, hour: int = 10) -> dt.datetime:
            return start + dt.timedelta(days=days, hours=hour - 9.5)

        civil = self.departments[DEPARTMENT]
        case = actions.case_receive(
            by=desk,
            category=self.categories["pension-social-security"],
            text=(
                "本人已到退休年龄，因企业改制期间断缴，欠缴养老保险费约三万元，无力补缴，无法办理退休，"
                "要求免缴欠费直接办理退休、领取养老金。"
            ),
            channel=Case.Channel.WALK_IN,
            petitioners=[petitioner],
            now=start,
        )
        case = actions.case_accept(case=case, by=office, note="属信访受理范围", now=at(1))
        case = actions.visit_record(
            case=case,
            by=worker,
            met="反映人本人及其妻子",
            found="家庭享受低保，夫妻二人无稳定收入，确实无力补缴约三万元的养老保险欠费；本人身体尚可，愿意劳动。",
            now=at(4, 15),
        )
        case = actions.merit_decide(
            case=case,
            by=office,
            merit=Case.Merit.UNREASONABLE,
            note="免缴欠费办理退休的诉求不符合社会保险法规定，不予支持；但欠费无力补缴的困难真实存在，须帮助解决。",
            now=at(12),
        )
        case = actions.case_assign(
            case=case,
            by=office,
            department=civil,
            co_departments=[self.departments["human-resources"]],
            note="由民政局以社会救助方式帮助补缴欠费，人社局协助办理补缴和退休手续",
            now=at(13),
        )
        case = actions.reply_write(
            case=case,
            by=users["demo-department"],
            text=(
                "您要求免缴欠费办理退休的诉求不符合规定，不予支持。鉴于您家庭的实际困难，"
                "民政局将通过社会救助帮助您补缴欠费，人社局协助办理退休手续。"
            ),
            now=at(20),
        )
        case = actions.resolution_record(
            case=case,
            by=users["demo-department"],
            resolution=Case.Resolution.SOLVED,
            done=(
                "社会救助资金代缴养老保险欠费 30,000 元，人社局办理补缴并核定退休；"
                "领取养老金后家庭收入超过低保标准，本人主动申请退出低保。"
            ),
            done_by="民政局、人力资源和社会保障局",
            cost_yuan=STORY_ARREARS,
            now=at(52),
        )
        case = actions.case_verify(case=case, by=office, note="入户核实：养老金已按月到账", now=at(56))
        case = actions.satisfaction_record(
            case=case, by=worker, satisfaction=Case.Satisfaction.SATISFIED, note="入户回访", now=at(57)
        )
        case = actions.case_close(case=case, by=office, note="定性无理，问题已解决", now=at(58))
        self.story.cases += 1
        self.story.petitions += 1
        self.story.by_stage["closed"] = self.story.by_stage.get("closed", 0) + 1
        self.story.reference = case.pk
        return case

    # -- what the follow-up pages show ----------------------------------------------------

    def showcase(self, *, events: list[Category], petitions: list[Category], grid: Area | None) -> None:
        """One of each of what the case pages of issue 11 show beyond the plain path: field
        reports with photos, a review answered and a re-review under way, an escorted visit
        recorded and one scheduled, a satisfaction link, repeat marks and a cross-level mark,
        and the escalation (督办) of the cases left overdue."""
        rng = self.rng
        day = dt.timedelta(days=1)
        grid = grid if grid is not None and grid in self.grids else rng.choice(self.grids)
        # Field reports with a photo, in the demo grid worker's grid: new, being handled, solved.
        for n, (stop, days) in enumerate((("received", 0.2), ("assigned", 4), ("satisfied", 20))):
            category = events[n % len(events)]
            self.play(
                category=category,
                grid=grid,
                received_at=self.now - dt.timedelta(days=days),
                stop=stop,
                quick=True,
                photos=(demo_photo(seed=n),),
            )
            self.story.photos += 1
        if not self.petition_grids or not petitions:
            self._escalate()
            return
        office = self.users["demo-petition"]

        def petition(stop: str, days: float) -> Case:
            return self.play(
                category=rng.choice(petitions),
                grid=rng.choice(self.petition_grids),
                received_at=self.now - dt.timedelta(days=days),
                stop=stop,
                quick=True,
            )

        # A review (复查) asked and answered, then a re-review (复核) asked and not yet answered.
        case = petition("replied", 40)
        if case.replied_at is not None:
            asked = case.replied_at + 5 * day
            actions.review_request(
                case=case,
                by=self.worker(case),
                reason="对答复不服，认为补贴标准计算有误",
                requested_at=asked,
                now=asked,
            )
            actions.review_answer(
                case=case,
                by=office,
                outcome="upheld",
                answer="经复查，原答复认定事实清楚，维持原意见。",
                now=asked + 15 * day,
            )
            again = asked + 25 * day
            actions.review_request(
                case=case, by=self.worker(case), reason="仍不服复查意见，申请复核", requested_at=again, now=again
            )
            self.story.reviews += 2
        # An escorted visit (领访) recorded, and another one scheduled.
        case = petition("assigned", 12)
        start = self.now - 8 * day
        escort = actions.escort_schedule(
            case=case,
            by=office,
            leader="区信访局局长",
            date=timezone.localdate(start) + 2 * day,
            note="到区人社局",
            now=start,
        )
        actions.escort_record(
            escort=escort,
            by=self.worker(case),
            went_on=escort.scheduled_for,
            attendees="区信访局局长、人社局科长、网格员、反映人",
            outcome="人社局当场说明政策并约定十日内答复",
            now=start + 3 * day,
        )
        case = petition("visited", 5)
        actions.escort_schedule(
            case=case,
            by=office,
            leader="街道办事处主任",
            date=timezone.localdate(self.now) + 3 * day,
            now=self.now - day,
        )
        self.story.escorts += 2
        # A satisfaction link (QR code or SMS) waiting for the petitioner's rating.
        case = petition("verified", 15)
        if case.resolution and not case.satisfaction:
            actions.satisfaction_link_create(
                case=case, by=self.worker(case), base_url=PUBLIC_URL, now=self.now - dt.timedelta(hours=6)
            )
            self.story.links += 1
        self._repeats(petitions)
        self._escalate()

    def _repeats(self, petitions: list[Category]) -> None:
        """The same petitioners back with the same matter: marked as repeats; one of them had
        gone to the city first (越级访)."""
        office = self.users["demo-petition"]
        earlier_ones = list(
            Case.objects.filter(
                kind=Kind.PETITION,
                received_at__gte=self.now - dt.timedelta(days=150),
                received_at__lt=self.now - dt.timedelta(days=40),
                petitioners__isnull=False,
            )
            .exclude(status=Case.Status.DECLINED)
            .order_by("received_at")
            .distinct()[:3]
        )
        for n, earlier in enumerate(earlier_ones):
            at = self.later(earlier.received_at + dt.timedelta(days=20 + 5 * n), 0, 8)
            case = actions.case_receive(
                by=office,
                category=earlier.category,
                text="再次反映：" + earlier.text,
                channel=Case.Channel.WALK_IN,
                petitioners=list(earlier.petitioners.all()),
                collective_count=earlier.collective_count,
                now=at,
            )
            self.story.cases += 1
            self.story.petitions += 1
            self.story.by_stage["received"] = self.story.by_stage.get("received", 0) + 1
            mark_at = at + dt.timedelta(hours=2)
            repeats.repeat_mark(case=case, earlier=earlier, by=office, note="同一事项再次来访", now=mark_at)
            self.story.repeats += 1
            if n == 0:
                repeats.cross_level_mark(case=case, by=office, level="city", note="此前已到市信访局反映", now=mark_at)
                self.story.cross_level += 1

    def _escalate(self) -> None:
        """督办 the oldest cases whose clocks ran out, as the worker does."""
        from wangge.protection.models import Notification

        before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.story.escalations = len(actions.cases_escalate(now=self.now, limit=ESCALATE_AT_MOST))
        # Demo accounts' phone numbers are invented: nothing leaves the server, the in-app
        # notifications of 督办 stay (as ``wangge.demo.protection`` does for its alerts).
        Notification.objects.filter(pk__gt=before).exclude(channel=Notification.Channel.IN_APP).delete()


def demo_photo(*, seed: int) -> bytes:
    """A small JPEG of a made-up scene (a wall, a door, a lamp): enough for the photo pages."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (480, 360), (rng.randint(150, 210), rng.randint(150, 200), rng.randint(140, 190)))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 250, 480, 360), fill=(110, 100, 90))  # the floor
    draw.rectangle((60 + 40 * seed, 80, 180 + 40 * seed, 250), fill=(90, 60, 40))  # a door
    draw.ellipse((330, 40, 380, 90), fill=(240, 230, 120) if seed % 2 else (80, 80, 80))  # a lamp
    for _ in range(30):
        x, y = rng.randint(0, 470), rng.randint(0, 350)
        draw.point((x, y), fill=(rng.randint(0, 255),) * 3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _story_petitioner(residents: list[tuple[int, int, int]], grids: list[Area], model: int | None) -> Resident | None:
    """A man of 60 or so outside the model community, put on minimum-income support."""
    allowed = {g.pk for g in grids if g.community_id != model}
    candidates = [pk for pk, grid, age in residents if grid in allowed and 58 <= age <= 63]
    men = Resident.objects.filter(pk__in=candidates, sex="M").order_by("pk")
    petitioner = men.first() or Resident.objects.filter(pk__in=candidates).order_by("pk").first()
    if petitioner is None:
        return None
    category = CareCategory.objects.filter(code="minimum_income").first()
    if category is not None:
        CareTag.objects.get_or_create(resident=petitioner, category=category, defaults={"note": "演示数据"})
    return petitioner


def build(
    *,
    grids: list[Area],
    residents: list[tuple[int, int, int]],
    users: dict[str, Any],
    workers: dict[int, Any],
    model_community: int | None,
    street: int | None,
    size: int,
    seed: int,
    now: dt.datetime | None = None,
) -> Story:
    """Play a year of cases. ``residents`` is (pk, grid id, age) per resident; ``users`` the
    showcase accounts by username; ``workers`` the grid workers by grid id."""
    now = now or timezone.now()
    users["demo-department"].case_departments.add(Department.objects.get(code=DEPARTMENT))
    player = _Player(
        grids=grids,
        residents=residents,
        users=users,
        workers=workers,
        model_community=model_community,
        street=street,
        seed=seed,
        now=now,
    )
    if not player.grids:
        return player.story
    petitioner = _story_petitioner(residents, player.grids, model_community)
    if petitioner is not None:
        player.reference(petitioner)
    player.year(case_count(size))
    events = [c for c in player.categories.values() if c.kind == Kind.EVENT and c.code in TEXTS]
    petitions = [c for c in player.categories.values() if c.kind == Kind.PETITION and c.code in TEXTS]
    worker_grid = Area.objects.filter(
        level=Area.Level.GRID, pk__in=users["demo-grid"].assignments.values("area_id")
    ).first()
    player.showcase(events=events, petitions=petitions, grid=worker_grid)
    return player.story
