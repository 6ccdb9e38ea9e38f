"""The parsed model as plain data (for ``keelhaul dump`` and bug reports)."""

from __future__ import annotations

from typing import Any

from keelhaul.dockerfile.operations import find_operations
from keelhaul.dockerfile.shell import parse_shell
from keelhaul.dockerfile.stages import Build
from keelhaul.dockerfile.syntax import Dockerfile, Instruction


def _shell_of(inst: Instruction) -> list[str] | None:
    """The scripts a RUN hands to a shell: its shell-form text and sh/bash heredoc bodies."""
    eff = inst.effective
    if eff.name != "RUN" or eff.json:
        return None
    scripts: list[str] = []
    if not eff.heredocs:
        scripts.append(eff.values[0] if eff.values else "")
    for doc in eff.heredocs:
        scripts.append(doc.content)
    return scripts


def instruction_to_dict(inst: Instruction, with_shell: bool = True) -> dict[str, Any]:
    eff = inst.effective
    data: dict[str, Any] = {
        "instruction": inst.name,
        "keyword": inst.keyword,
        "start_line": inst.start_line,
        "end_line": inst.end_line,
        "flags": list(inst.flags),
        "json": eff.json,
        "values": list(eff.values),
    }
    if inst.sub is not None:
        data["onbuild"] = {
            "instruction": inst.sub.name,
            "flags": list(inst.sub.flags),
            "values": list(inst.sub.values),
        }
    if eff.heredocs:
        data["heredocs"] = [
            {
                "name": h.name,
                "file_descriptor": h.file_descriptor,
                "expand": h.expand,
                "chomp": h.chomp,
                "content": h.content,
            }
            for h in eff.heredocs
        ]
    scripts = _shell_of(inst) if with_shell else None
    if scripts is not None:
        commands: list[dict[str, Any]] = []
        operations: list[dict[str, Any]] = []
        for script in scripts:
            parsed = parse_shell(script)
            commands.extend(
                {"argv": list(c.argv), "wrappers": list(c.wrappers)} for c in parsed.commands
            )
            ops = find_operations(parsed)
            operations.extend(
                {
                    "manager": op.manager,
                    "action": op.action,
                    "subcommand": op.subcommand,
                    "flags": list(op.flags),
                    "packages": [{"name": p.name, "version": p.version} for p in op.packages],
                }
                for op in ops.packages
            )
            operations.extend(
                {"download": d.tool, "urls": list(d.urls), "piped_into": d.piped_into}
                for d in ops.downloads
            )
            operations.extend(
                {"cleanup": list(c.paths), "manager_clean": c.manager_clean} for c in ops.cleanups
            )
        data["shell"] = {"commands": commands, "operations": operations}
    return data


def dockerfile_to_dict(tree: Dockerfile, build: Build | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "path": tree.path,
        "escape": tree.escape,
        "bom": tree.bom,
        "directives": {d.name: d.value for d in tree.directives},
        "instructions": [instruction_to_dict(i) for i in tree.instructions],
        "warnings": [{"line": w.line, "message": w.message} for w in tree.warnings],
        "errors": [{"line": e.position.line, "message": e.message} for e in tree.errors],
    }
    if build is not None:
        data["global_args"] = dict(build.global_args)
        data["stages"] = [
            {
                "index": s.index,
                "name": s.name,
                "line": s.from_instruction.start_line,
                "base": s.base,
                "base_as_written": s.base_raw,
                "base_stage": s.base_stage,
                "platform": s.platform,
                "depends_on": [
                    {
                        "kind": d.kind.value,
                        "via": d.via.value,
                        "reference": d.reference,
                        "stage": d.stage,
                        "line": d.instruction.start_line,
                    }
                    for d in s.dependencies
                ],
            }
            for s in build.stages
        ]
        data["target"] = build.target
        data["needed_stages"] = build.needed_stages()
        data["problems"] = [
            {"line": p.line, "message": p.message, "fatal": p.fatal} for p in build.problems
        ]
    return data
