"""`cabin id ...`: ID numbers from the command line, a thin face over cabin.kiosk.identity."""

from __future__ import annotations

from datetime import date


from cabin.kiosk import identity
from cabin.kiosk.cli.app import EXIT_OK, EXIT_REFUSED, complain, emit
from cabin.kiosk.privacy import mask_id


def id_result(check: identity.IdCheck) -> dict:
    """The JSON object of `cabin id check`."""
    return {
        "valid": check.valid,
        "number": check.number,
        "reason": check.reason,
        "region_code": check.region_code,
        "region": check.region,
        "birth": check.birth.isoformat() if check.birth else None,
        "sex": check.sex,
        "cross_region": check.cross_region,
    }


def station_today(ctx) -> date:
    """Today on the station's clock in the station's time zone, not the host's: "not born in the
    future" is the station's."""
    from cabin.queue.clock import local_date

    return local_date(ctx.clock.now_ms(), ctx.config.station.tz)


def cmd_id_check(ctx) -> int:
    config = ctx.config
    check = identity.check(ctx.args.number, province=config.station.province, today=station_today(ctx))
    result = id_result(check)
    if not check.valid:
        if ctx.args.json:
            emit(ctx.args, result, "")
        complain(check.reason)
        return EXIT_REFUSED

    def text(r: dict) -> str:
        # a screen shows the number masked (domain.md section 6); --json carries it whole
        notes = (["cross-region"] if r["cross_region"] else []) + (
            ["legacy 15-digit number, upgraded: look-up only, never printed"] if check.legacy else [])
        return (f"valid: {mask_id(r['number'])}  {r['region']} ({r['region_code']})  born {r['birth']}  "
                f"{'male' if r['sex'] == 'M' else 'female'}" + "".join(f"; {n}" for n in notes))

    emit(ctx.args, result, text)
    return EXIT_OK


def declare(commands) -> None:
    ids = commands.group("id")
    p = commands.command("check", cmd_id_check, "check an ID number: checksum, birth date, region (exit 1 if it is not"
                         " valid)", ids)
    p.add_argument("number", metavar="NUMBER", help="18 characters (or a legacy 15-digit number); full-width digits and x"
                   " accepted")
