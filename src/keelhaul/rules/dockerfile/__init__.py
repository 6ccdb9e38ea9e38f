"""Dockerfile rules; importing this package registers every one of them."""

from keelhaul.rules.dockerfile import (  # noqa: F401
    apk_no_cache,
    apt_lists_not_removed,
    apt_missing_yes,
    apt_no_install_recommends,
    apt_update_alone,
    download_piped_to_shell,
    legacy_env_form,
    maintainer_deprecated,
    mutable_base_tag,
    pip_cache_kept,
    root_user,
    secret_in_env,
    shell_form_command,
)
