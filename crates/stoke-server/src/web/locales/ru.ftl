# Слова панели на русском. Каждое сообщение здесь есть и в en.ftl, и в ar.ftl.

app-name = Stoke
nav-today = Сегодня
nav-inbox = Входящие
nav-segments = Сегменты
nav-broadcasts = Рассылки
nav-logout = Выйти
nav-language = Язык
nav-signed-in = Вы вошли как { $name } ({ $role })
role-admin = администратор
role-manager = руководитель
role-agent = менеджер

login-title = Вход в Stoke
login-email = Эл. почта
login-password = Пароль
login-submit = Войти
login-wrong = Неверная почта или пароль.
login-throttled = Слишком много попыток. Попробуйте через { $seconds } с.
login-missing = Укажите почту, с которой вы входите.

today-title = Сегодня
today-count = { $count ->
    [0] Сегодня никому не нужно писать
    [one] { $n } клиент ждёт контакта
    [few] { $n } клиента ждут контакта
   *[many] { $n } клиентов ждут контакта
}
today-empty = Очередь пуста: всем клиентам ответили.
today-due = Срок
today-overdue = Просрочено
today-why = Почему
today-open = Открыть переписку
today-for = Очередь
today-show = Показать
today-local = по их времени

inbox-title = Входящие
inbox-search = Поиск по всей переписке
inbox-account = Аккаунт
inbox-tag = Метка
inbox-tier = Активность
inbox-assignee = Ответственный
inbox-any = Все
inbox-unassigned = Не назначен
inbox-filter = Показать
inbox-empty = Подходящих переписок нет.
inbox-older = Более старые
inbox-you = Вы:
inbox-results = { $count ->
    [0] Сообщений с этими словами нет
    [one] { $n } сообщение с этими словами
    [few] { $n } сообщения с этими словами
   *[many] { $n } сообщений с этими словами
}
inbox-contacts-found = Клиенты

conv-reply = Ответ
conv-send = Отправить
conv-through = через
conv-queued = Ответ поставлен в очередь и уйдёт через { $account }.
conv-empty-reply = Сначала напишите ответ.
conv-too-long = В ответе не больше { $max } символов.
conv-no-account = Нет аккаунта, через который можно ответить.
conv-card = Карточка клиента
conv-no-messages = Сообщений пока нет.
status-queued = в очереди
status-sent = отправлено
status-delivered = доставлено
status-read = прочитано
status-failed = ошибка
status-received = получено

card-profile = Профиль
card-phones = Телефоны
card-emails = Эл. почта
card-language = Язык
card-timezone = Часовой пояс
card-country = Страна
card-owner = Ответственный
card-nobody = никто
card-preferences = Предпочтения
card-consent = Согласие
card-orders = Заказы
card-notes = Заметки
card-add-note = Добавить заметку
card-note-saved = Заметка сохранена.
card-note-empty = Сначала напишите заметку.
card-tasks = Задачи
card-done = выполнено
card-tags = Метки
card-rule = Правило
card-evidence = Почему
card-history = Изменения
card-set = поставлена
card-removed = снята
card-none = Пока ничего.
card-message = Сообщение
card-lead-score = Оценка лида

family-activity = Активность
family-intent = Намерение купить
family-interest = Интерес
family-preference = Предпочтение
family-lifecycle = Жизненный цикл
family-temperature = Температура лида
family-sentiment = Настроение
family-stage = Этап сделки
family-static = Метка

seg-title = Сегменты
seg-distribution = Клиенты по меткам
seg-warnings = Еженедельная проверка
seg-healthy = База в порядке: достаточно очень активных клиентов.
seg-low-high = Лишь { $share }% клиентов очень активны (ответили за 24 ч), меньше { $min }%: усильте привлечение и реактивацию.
seg-expression = Выражение сегмента
seg-hint = Например: intent:high and interest:discount and active_within:7d and not opted_out
seg-count = { $count } из { $of } клиентов
seg-matching = Подходящие клиенты
seg-invalid = Выражение не читается: { $problem }
seg-admins = Сегменты охватывают всю базу: обратитесь к администратору.

bc-title = Рассылки
bc-new = Новая рассылка
bc-name = Название
bc-audience = Аудитория (выражение сегмента)
bc-template = Шаблон
bc-account = Аккаунт
bc-start = Начать отправку сразу
bc-create = Создать
bc-created = Рассылка создана.
bc-status = Статус
bc-recipients = Получатели
bc-progress = Ход отправки
bc-none = Рассылок пока нет.
bc-pause = Пауза
bc-resume = Продолжить
bc-cancel = Отменить
count-queued = В очереди
count-sent = Отправлено
count-delivered = Доставлено
count-read = Прочитано
count-failed = Ошибки
count-skipped = Пропущено

error-title = Что-то не так
error-not-found = Здесь ничего нет, или это не ваше.
error-forbidden = Эта страница для администраторов.
error-back = Вернуться к «Сегодня»

action-quote = Отправить цену
action-follow-up = Напомнить о себе
action-content = Прислать полезное
action-greeting = Поздравить
action-broadcast-only = Только рассылки
action-none = Ничего
tier-high = Очень активен
tier-medium = Активен
tier-low = Остывает
tier-dormant = Спит
pref-channel = Канал
pref-window = Удобное время
pref-format = Формат
pref-max-per-week = Не чаще в неделю
bcs-draft = Черновик
bcs-running = Идёт отправка
bcs-paused = На паузе
bcs-completed = Завершена
bcs-cancelled = Отменена
