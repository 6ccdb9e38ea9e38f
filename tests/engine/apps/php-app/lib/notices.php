<?php
declare(strict_types=1);

/** @return list<array{date: string, text: string}> */
function load_notices(string $file): array
{
    $notices = json_decode((string) file_get_contents($file), true, 8, JSON_THROW_ON_ERROR);
    usort($notices, fn(array $a, array $b): int => strcmp($b['date'], $a['date']));
    return $notices;
}
