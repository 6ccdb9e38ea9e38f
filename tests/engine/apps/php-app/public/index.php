<?php
// Harbour notices: a small PHP page over a JSON file of notices.
declare(strict_types=1);
require __DIR__ . '/../lib/notices.php';

header('Content-Type: text/html; charset=utf-8');
$notices = load_notices(__DIR__ . '/../data/notices.json');
?>
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Harbour notices</title></head>
<body>
<h1>Harbour notices</h1>
<ul>
<?php foreach ($notices as $notice): ?>
  <li><?= htmlspecialchars($notice['date']) ?>: <?= htmlspecialchars($notice['text']) ?></li>
<?php endforeach; ?>
</ul>
</body>
</html>
