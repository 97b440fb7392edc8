"""Every configuration the program ships with, evaluated under mocks once per session: each
`Pulumi.<stack>.yaml`, and each scenario applied to the dev and prod stacks the way the README's
scenario-switch table applies it (`stacks.scenario_switch.try_switch`; a switch the table marks
impossible has no configuration and is not here)."""

from __future__ import annotations

from functools import cache

from harness import STACK_FILES, Program, evaluate, stack_program

from stacks.config import Scenario
from stacks.scenario_switch import try_switch

SCENARIO_STACKS = ("dev", "prod")


@cache
def scenario_program(stack: str, scenario: Scenario) -> Program | None:
    """`stack` switched to `scenario` (None when the switch is impossible without a redesign)."""
    switch = try_switch(stack, scenario)
    if switch.impossible is not None:
        return None
    return evaluate(switch.config, stack=stack)


def shipped_programs() -> list[tuple[str, Program]]:
    """(label, program) for every shipped stack and every possible dev/prod scenario switch."""
    programs = [(stack, stack_program(stack)) for stack in STACK_FILES]
    for stack in SCENARIO_STACKS:
        for scenario in Scenario:
            program = scenario_program(stack, scenario)
            if program is not None:
                programs.append((f"{stack}@{scenario.value}", program))
    return programs


def shipped_programs_by_label() -> dict[str, Program]:
    """`shipped_programs()` as a mapping: `dev`, `prod@gateway-api`, …"""
    return dict(shipped_programs())
