// Rapport dashboard: the words of the page in English, Ukrainian and Russian,
// and the locale's formats for numbers, money and dates. The language comes
// from ?lang=, else the one chosen before (localStorage), else the browser's
// languages, else English.
'use strict';

(function () {
  const LANGS = ['en', 'uk', 'ru'];
  const LANG_KEY = 'rapport.lang';

  // Plural forms follow Intl.PluralRules: one, few, many, other.
  const MESSAGES = {
    en: {
      'lang.name': 'English',
      'lang.label': 'Language',
      'title': 'Rapport — manager dashboard',
      'top.sub': 'manager dashboard',
      'live.offline': 'offline', 'live.live': 'live', 'live.polling': 'polling',
      'sign-out': 'Sign out', 'sign-in': 'Sign in', 'token': 'Device token',
      'token.hint': 'The token stays in this browser tab only (session storage).',
      'token.refused': 'This token is not accepted.',
      'token.refused-with': 'The token was refused: {message}',
      'unreachable': 'Cannot reach the server: {message}',
      'filters': 'Filters', 'f.team': 'Team', 'f.rep': 'Rep', 'f.territory': 'Territory', 'f.from': 'From', 'f.to': 'To',
      'apply': 'Apply', 'clear': 'Clear',
      'export.label': 'Download a report', 'export.csv': 'CSV', 'export.xlsx': 'Excel (XLSX)',
      'export.hint': 'With the filters above; amounts in major units beside their currency.',
      'weighted': 'Weighted pipeline', 'no-open-deals': 'No open deals',
      'pipeline.detail': { one: '{n} open deal, {amount} unweighted', other: '{n} open deals, {amount} unweighted' },
      'funnel': 'Pipeline by stage', 'funnel.hint': 'Select a stage to list its deals.',
      'funnel.none': 'No deals for these filters.', 'funnel.label': 'Deals per stage',
      'funnel.stage': { one: '{stage}: {n} deal, {amounts}', other: '{stage}: {n} deals, {amounts}' },
      'funnel.show': 'Show deals',
      'ladder': 'Loyalty ladder', 'rung': 'Rung', 'accounts': 'Accounts', 'moved-up': 'Moved up', 'moved-down': 'Moved down',
      'activity': 'Activity per rep', 'activity.none': 'No interactions held for these filters.',
      'activity.label': 'Interactions per rep and kind',
      'details': 'Details', 'details.hint': 'Select a stage or an account.',
      'stale': 'Stale deals', 'account': 'Account', 'stage': 'Stage', 'stage-since': 'Stage since',
      'limit-days': 'Limit (days)', 'last-touch': 'Last touch', 'stale.none': 'No stale deals.',
      'risk': 'Key accounts at risk', 'owner': 'Owner', 'risk.none': 'No key account at risk.',
      'conflicts': 'Open conflicts',
      'conflicts.hint': 'Fields edited concurrently on several devices; the value in bold is the one shown until someone sets the field again.',
      'field': 'Field', 'values': 'Values (who wrote them)', 'newest': 'Newest', 'cleared': '(cleared)',
      'written-by': '{user} on {device}', 'conflicts.none': 'No open conflicts.',
      'history': 'Account history', 'history.hint': 'Select an account to see who changed what.',
      'history.of': 'History of {name}', 'history.error': 'Cannot load the history: {message}',
      'history.count': '{changes} changes, {audit} audit rows on the server',
      'when': 'When', 'who': 'Who', 'device': 'Device', 'operation': 'Operation', 'fields': 'Fields',
      'deals-in': 'Deals in {stage}', 'loading': 'Loading…', 'drill.none': 'No deals in this stage.',
      'drill.error': 'Cannot load the deals: {message}',
      'pager.range': '{from}–{to} of {total}', 'pager.none': 'none of {total} here',
      'pager.prev': 'Previous page', 'pager.next': 'Next page',
      'log-head': 'Log head', 'updated': 'updated',
      'changes': 'Changes',
      'record.contact': 'Contact', 'record.deal': 'Deal', 'record.interaction': 'Interaction', 'record.task': 'Task', 'record.tie': 'Tie', 'record.line-item': 'line item',
      'field.name': 'Name', 'field.owner': 'Owner', 'field.team': 'Team', 'field.territory': 'Territory', 'field.industry': 'Industry', 'field.website': 'Website', 'field.notes': 'Notes', 'field.tags': 'Tags', 'field.roles': 'Roles', 'field.status': 'Status', 'field.value_tier': 'Value tier', 'field.loyalty_rung': 'Loyalty rung', 'field.lifecycle_phase': 'Lifecycle phase', 'field.address.street': 'Street', 'field.address.city': 'City', 'field.address.region': 'Region', 'field.address.postcode': 'Postcode', 'field.address.country': 'Country', 'field.stage': 'stage', 'field.amount': 'amount', 'field.probability': 'probability', 'field.expected_close': 'expected close', 'field.next_step': 'next step', 'field.title': 'title', 'field.outcome': 'outcome', 'field.lost_reason': 'lost reason', 'field.forecast': 'forecast category', 'field.source': 'Source', 'field.kind': 'Kind', 'field.deleted_at': 'Deleted',
    },
    uk: {
      'lang.name': 'Українська',
      'lang.label': 'Мова',
      'title': 'Rapport — панель керівника',
      'top.sub': 'панель керівника',
      'live.offline': 'офлайн', 'live.live': 'наживо', 'live.polling': 'опитування',
      'sign-out': 'Вийти', 'sign-in': 'Увійти', 'token': 'Токен пристрою',
      'token.hint': 'Токен зберігається лише в цій вкладці браузера (session storage).',
      'token.refused': 'Цей токен не прийнято.',
      'token.refused-with': 'Токен відхилено: {message}',
      'unreachable': 'Сервер недоступний: {message}',
      'filters': 'Фільтри', 'f.team': 'Команда', 'f.rep': 'Менеджер', 'f.territory': 'Територія', 'f.from': 'З', 'f.to': 'По',
      'apply': 'Застосувати', 'clear': 'Очистити',
      'export.label': 'Завантажити звіт', 'export.csv': 'CSV', 'export.xlsx': 'Excel (XLSX)',
      'export.hint': 'З фільтрами вище; суми в основних одиницях поруч із валютою.',
      'weighted': 'Зважена воронка', 'no-open-deals': 'Немає відкритих угод',
      'pipeline.detail': {
        one: '{n} відкрита угода, {amount} без зважування',
        few: '{n} відкриті угоди, {amount} без зважування',
        many: '{n} відкритих угод, {amount} без зважування',
        other: '{n} відкритої угоди, {amount} без зважування',
      },
      'funnel': 'Воронка за етапами', 'funnel.hint': 'Оберіть етап, щоб побачити його угоди.',
      'funnel.none': 'Немає угод для цих фільтрів.', 'funnel.label': 'Угоди за етапами',
      'funnel.stage': {
        one: '{stage}: {n} угода, {amounts}', few: '{stage}: {n} угоди, {amounts}',
        many: '{stage}: {n} угод, {amounts}', other: '{stage}: {n} угоди, {amounts}',
      },
      'funnel.show': 'Показати угоди',
      'ladder': 'Драбина лояльності', 'rung': 'Щабель', 'accounts': 'Клієнти', 'moved-up': 'Піднялися', 'moved-down': 'Опустилися',
      'activity': 'Активність менеджерів', 'activity.none': 'Немає проведених взаємодій для цих фільтрів.',
      'activity.label': 'Взаємодії за менеджерами та видами',
      'details': 'Подробиці', 'details.hint': 'Оберіть етап або клієнта.',
      'stale': 'Завислі угоди', 'account': 'Клієнт', 'stage': 'Етап', 'stage-since': 'На етапі з',
      'limit-days': 'Ліміт (днів)', 'last-touch': 'Останній контакт', 'stale.none': 'Завислих угод немає.',
      'risk': 'Ключові клієнти під загрозою', 'owner': 'Відповідальний', 'risk.none': 'Ключових клієнтів під загрозою немає.',
      'conflicts': 'Відкриті конфлікти',
      'conflicts.hint': 'Поля, змінені одночасно на кількох пристроях; жирним — значення, яке показується, доки хтось не задасть поле знову.',
      'field': 'Поле', 'values': 'Значення (хто записав)', 'newest': 'Найновіше', 'cleared': '(очищено)',
      'written-by': '{user} на {device}', 'conflicts.none': 'Відкритих конфліктів немає.',
      'history': 'Історія клієнта', 'history.hint': 'Оберіть клієнта, щоб побачити, хто що змінив.',
      'history.of': 'Історія: {name}', 'history.error': 'Не вдалося завантажити історію: {message}',
      'history.count': 'Змін: {changes}, записів аудиту на сервері: {audit}',
      'when': 'Коли', 'who': 'Хто', 'device': 'Пристрій', 'operation': 'Операція', 'fields': 'Поля',
      'deals-in': 'Угоди на етапі «{stage}»', 'loading': 'Завантаження…', 'drill.none': 'На цьому етапі угод немає.',
      'drill.error': 'Не вдалося завантажити угоди: {message}',
      'pager.range': '{from}–{to} з {total}', 'pager.none': 'тут нічого з {total}',
      'pager.prev': 'Попередня сторінка', 'pager.next': 'Наступна сторінка',
      'log-head': 'Позиція журналу', 'updated': 'оновлено',
      'changes': 'Зміни',
      'record.contact': 'Контакт', 'record.deal': 'Угода', 'record.interaction': 'Взаємодія', 'record.task': 'Завдання', 'record.tie': 'Зв’язок', 'record.line-item': 'позиція',
      'field.name': 'Назва', 'field.owner': 'Відповідальний', 'field.team': 'Команда', 'field.territory': 'Територія', 'field.industry': 'Галузь', 'field.website': 'Сайт', 'field.notes': 'Нотатки', 'field.tags': 'Мітки', 'field.roles': 'Ролі', 'field.status': 'Статус', 'field.value_tier': 'Цінність', 'field.loyalty_rung': 'Щабель лояльності', 'field.lifecycle_phase': 'Фаза стосунків', 'field.address.street': 'Вулиця', 'field.address.city': 'Місто', 'field.address.region': 'Область', 'field.address.postcode': 'Індекс', 'field.address.country': 'Країна', 'field.stage': 'етап', 'field.amount': 'сума', 'field.probability': 'ймовірність', 'field.expected_close': 'очікуване закриття', 'field.next_step': 'наступний крок', 'field.title': 'назва', 'field.outcome': 'результат', 'field.lost_reason': 'причина програшу', 'field.forecast': 'категорія прогнозу', 'field.source': 'Джерело', 'field.kind': 'Тип', 'field.deleted_at': 'Видалено',
      'stage.prospecting': 'Пошук', 'stage.qualification': 'Кваліфікація', 'stage.proposal': 'Пропозиція',
      'stage.negotiation': 'Переговори', 'stage.won': 'Виграно', 'stage.lost': 'Програно',
      'rung.prospect': 'Потенційний', 'rung.customer': 'Покупець', 'rung.client': 'Клієнт',
      'rung.supporter': 'Прихильник', 'rung.advocate': 'Адвокат', 'rung.partner': 'Партнер',
      'kind.call': 'дзвінок', 'kind.meeting': 'зустріч', 'kind.visit': 'візит', 'kind.email': 'лист', 'kind.note': 'нотатка',
    },
    ru: {
      'lang.name': 'Русский',
      'lang.label': 'Язык',
      'title': 'Rapport — панель руководителя',
      'top.sub': 'панель руководителя',
      'live.offline': 'офлайн', 'live.live': 'в реальном времени', 'live.polling': 'опрос',
      'sign-out': 'Выйти', 'sign-in': 'Войти', 'token': 'Токен устройства',
      'token.hint': 'Токен хранится только в этой вкладке браузера (session storage).',
      'token.refused': 'Этот токен не принят.',
      'token.refused-with': 'Токен отклонён: {message}',
      'unreachable': 'Сервер недоступен: {message}',
      'filters': 'Фильтры', 'f.team': 'Команда', 'f.rep': 'Менеджер', 'f.territory': 'Территория', 'f.from': 'С', 'f.to': 'По',
      'apply': 'Применить', 'clear': 'Сбросить',
      'export.label': 'Скачать отчёт', 'export.csv': 'CSV', 'export.xlsx': 'Excel (XLSX)',
      'export.hint': 'С фильтрами выше; суммы в основных единицах рядом с валютой.',
      'weighted': 'Взвешенная воронка', 'no-open-deals': 'Нет открытых сделок',
      'pipeline.detail': {
        one: '{n} открытая сделка, {amount} без взвешивания',
        few: '{n} открытые сделки, {amount} без взвешивания',
        many: '{n} открытых сделок, {amount} без взвешивания',
        other: '{n} открытой сделки, {amount} без взвешивания',
      },
      'funnel': 'Воронка по этапам', 'funnel.hint': 'Выберите этап, чтобы увидеть его сделки.',
      'funnel.none': 'Нет сделок для этих фильтров.', 'funnel.label': 'Сделки по этапам',
      'funnel.stage': {
        one: '{stage}: {n} сделка, {amounts}', few: '{stage}: {n} сделки, {amounts}',
        many: '{stage}: {n} сделок, {amounts}', other: '{stage}: {n} сделки, {amounts}',
      },
      'funnel.show': 'Показать сделки',
      'ladder': 'Лестница лояльности', 'rung': 'Ступень', 'accounts': 'Клиенты', 'moved-up': 'Поднялись', 'moved-down': 'Опустились',
      'activity': 'Активность менеджеров', 'activity.none': 'Нет проведённых взаимодействий для этих фильтров.',
      'activity.label': 'Взаимодействия по менеджерам и видам',
      'details': 'Подробности', 'details.hint': 'Выберите этап или клиента.',
      'stale': 'Зависшие сделки', 'account': 'Клиент', 'stage': 'Этап', 'stage-since': 'На этапе с',
      'limit-days': 'Лимит (дней)', 'last-touch': 'Последний контакт', 'stale.none': 'Зависших сделок нет.',
      'risk': 'Ключевые клиенты под угрозой', 'owner': 'Ответственный', 'risk.none': 'Ключевых клиентов под угрозой нет.',
      'conflicts': 'Открытые конфликты',
      'conflicts.hint': 'Поля, изменённые одновременно на нескольких устройствах; жирным — значение, которое показывается, пока кто-нибудь не задаст поле снова.',
      'field': 'Поле', 'values': 'Значения (кто записал)', 'newest': 'Новейшее', 'cleared': '(очищено)',
      'written-by': '{user} на {device}', 'conflicts.none': 'Открытых конфликтов нет.',
      'history': 'История клиента', 'history.hint': 'Выберите клиента, чтобы увидеть, кто что изменил.',
      'history.of': 'История: {name}', 'history.error': 'Не удалось загрузить историю: {message}',
      'history.count': 'Изменений: {changes}, записей аудита на сервере: {audit}',
      'when': 'Когда', 'who': 'Кто', 'device': 'Устройство', 'operation': 'Операция', 'fields': 'Поля',
      'deals-in': 'Сделки на этапе «{stage}»', 'loading': 'Загрузка…', 'drill.none': 'На этом этапе сделок нет.',
      'drill.error': 'Не удалось загрузить сделки: {message}',
      'pager.range': '{from}–{to} из {total}', 'pager.none': 'здесь ничего из {total}',
      'pager.prev': 'Предыдущая страница', 'pager.next': 'Следующая страница',
      'log-head': 'Позиция журнала', 'updated': 'обновлено',
      'changes': 'Изменения',
      'record.contact': 'Контакт', 'record.deal': 'Сделка', 'record.interaction': 'Взаимодействие', 'record.task': 'Задача', 'record.tie': 'Связь', 'record.line-item': 'позиция',
      'field.name': 'Название', 'field.owner': 'Ответственный', 'field.team': 'Команда', 'field.territory': 'Территория', 'field.industry': 'Отрасль', 'field.website': 'Сайт', 'field.notes': 'Заметки', 'field.tags': 'Метки', 'field.roles': 'Роли', 'field.status': 'Статус', 'field.value_tier': 'Ценность', 'field.loyalty_rung': 'Ступень лояльности', 'field.lifecycle_phase': 'Фаза отношений', 'field.address.street': 'Улица', 'field.address.city': 'Город', 'field.address.region': 'Область', 'field.address.postcode': 'Индекс', 'field.address.country': 'Страна', 'field.stage': 'этап', 'field.amount': 'сумма', 'field.probability': 'вероятность', 'field.expected_close': 'ожидаемое закрытие', 'field.next_step': 'следующий шаг', 'field.title': 'название', 'field.outcome': 'результат', 'field.lost_reason': 'причина проигрыша', 'field.forecast': 'категория прогноза', 'field.source': 'Источник', 'field.kind': 'Тип', 'field.deleted_at': 'Удалено',
      'stage.prospecting': 'Поиск', 'stage.qualification': 'Квалификация', 'stage.proposal': 'Предложение',
      'stage.negotiation': 'Переговоры', 'stage.won': 'Выиграно', 'stage.lost': 'Проиграно',
      'rung.prospect': 'Потенциальный', 'rung.customer': 'Покупатель', 'rung.client': 'Клиент',
      'rung.supporter': 'Сторонник', 'rung.advocate': 'Адвокат', 'rung.partner': 'Партнёр',
      'kind.call': 'звонок', 'kind.meeting': 'встреча', 'kind.visit': 'визит', 'kind.email': 'письмо', 'kind.note': 'заметка',
    },
  };

  // The words of the reports, drill-downs and the per-rep page (issue 16).
  const MORE = {
    en: {
      'server.status': 'the server answered {status}',
      'period.range': '{from} – {to}', 'period.from': 'from {from}', 'period.to': 'until {to}',
      'drill.none': 'Nothing behind this figure for these filters.',
      'f.all': 'All', 'f.period': 'Period',
      'p.all': 'All time', 'p.week': 'This week', 'p.month': 'This month', 'p.quarter': 'This quarter',
      'p.last-quarter': 'Last quarter', 'p.year': 'This year', 'p.custom': 'Custom dates',
      'applies': 'The period applies to each figure\'s own date, named on its card: close date (pipeline, stages, forecast), stage change (win rate, lost deals, conversion) or activity date (activity, depth of contact). Overdue and stale deals, the rep summary and accounts at risk are as of today, whatever the period.',
      'on.close': 'Period: close date', 'on.stage-change': 'Period: stage change', 'on.today': 'As of today, whatever the period',
      'on.lost': 'Period: when lost or ended', 'on.ended': 'Ended: in the period; accounts: now', 'on.activity': 'Period: activity date',
      'on.ladder': 'Moves: in the period; accounts: now',
      'show-deals': 'Show the deals', 'win-rate': 'Win rate', 'overdue': 'Overdue deals', 'forecast': 'Forecast by category',
      'lost-reasons': 'Lost reasons', 'lifecycle': 'Lifecycle phases', 'rep-summary': 'Per rep', 'conversion': 'Stage conversion',
      'close-date': 'Close date', 'amount': 'Amount', 'depth': 'Depth of contact', 'contacts-engaged': 'Contacts', 'held': 'Held',
      'next-touch': 'Next touch', 'back': '← All reps', 'rep.pipeline': 'Their pipeline', 'rep.activity': 'Their activity',
      'rep.planned': 'Planned interactions', 'rep.title': 'Rep: {rep}', 'reason.none': '(no reason)',
      'known': 'The period as known then and now',
      'known.text': 'As known at the period\'s end ({at}) and as known now. The difference comes from the late edits below: changes made in the period that reached the server after it ended.',
      'known.figure': 'Figure', 'known.then': 'As known then', 'known.now': 'As known now', 'known.diff': 'Difference',
      'known.weighted': 'Weighted pipeline ({currency})', 'known.open': 'Open deals', 'known.won': 'Deals won',
      'known.lost': 'Deals lost', 'known.rate': 'Win rate',
      'late': 'Late edits', 'late.none': 'No late edits: the figures of this period were complete when it ended.',
      'late.count': { one: '{n} late edit', other: '{n} late edits' },
      'made': 'Made', 'received': 'Received', 'late.hours': 'Late by', 'late.h': '{n} h',
      'won-delta': 'Won amount moved', 'weighted-delta': 'Weighted pipeline moved', 'old-new': 'Old → new',
      'drill.download': 'Download these rows:',
      'won.n': { one: '{n} won', other: '{n} won' }, 'lost.n': { one: '{n} lost', other: '{n} lost' },
      'deals': 'Deals', 'share': 'Share', 'none': 'Nothing for these filters.', 'category': 'Category', 'reason': 'Reason',
      'count': 'Count', 'reason.deal': 'Deals', 'reason.ended': 'Ended relationships', 'phase': 'Phase', 'ended': 'Ended',
      'from-stage': 'From', 'to-stage': 'To', 'moves': 'Moves', 'rate': 'Rate', 'conversion.none': 'No stage moves in the period.',
      'accounts-owned': 'Accounts', 'open-deals': 'Open deals', 'planned-overdue': 'Planned: overdue', 'planned-today': 'today',
      'planned-later': 'later', 'rep': 'Rep', 'overdue.none': 'No overdue deals.', 'deal': 'Deal', 'probability': 'Probability',
      'next-step': 'Next step', 'ended-on': 'Ended on', 'kind': 'Kind', 'due': 'Due',
      'due.overdue': 'overdue', 'due.today': 'today', 'due.later': 'later',
      'drill.forecast': 'Deals in forecast: {name}', 'drill.lost': 'Deals lost: {name}', 'drill.ended-reason': 'Relationships ended: {name}',
      'drill.phase': 'Accounts in phase: {name}', 'drill.ended-phase': 'Relationships ended in phase: {name}',
      'drill.moved': 'Deals moved from {from} to {to}', 'drill.rep-open': 'Open deals of {rep}', 'drill.rung': 'Accounts on rung: {name}',
      'drill.open': 'Open deals', 'drill.won': 'Deals won', 'drill.lost-all': 'Deals lost', 'drill.error': 'Cannot load the rows: {message}',
      'reason.price': 'Price', 'reason.competitor': 'Competitor', 'reason.no_budget': 'No budget', 'reason.no_decision': 'No decision',
      'reason.timing': 'Timing', 'reason.product_fit': 'Product fit', 'reason.other': 'Other', 'reason.moved_away': 'Moved away',
      'reason.closed_business': 'Closed the business', 'reason.switched_supplier': 'Switched supplier', 'reason.dissatisfied': 'Dissatisfied',
      'reason.merged': 'Merged',
      'phase.pre_relationship': 'Pre-relationship', 'phase.early': 'Early', 'phase.development': 'Development',
      'phase.long_term': 'Long-term', 'phase.final': 'Final',
      'forecast.pipeline': 'Pipeline', 'forecast.best_case': 'Best case', 'forecast.commit': 'Commit', 'forecast.closed': 'Closed',
      'rung.prospect': 'Prospect', 'rung.customer': 'Customer', 'rung.client': 'Client', 'rung.supporter': 'Supporter',
      'rung.advocate': 'Advocate', 'rung.partner': 'Partner',
    },
    uk: {
      'server.status': 'сервер відповів {status}',
      'period.range': '{from} – {to}', 'period.from': 'з {from}', 'period.to': 'до {to}',
      'drill.none': 'За цим показником для цих фільтрів нічого немає.',
      'f.all': 'Усі', 'f.period': 'Період',
      'p.all': 'Увесь час', 'p.week': 'Цей тиждень', 'p.month': 'Цей місяць', 'p.quarter': 'Цей квартал',
      'p.last-quarter': 'Минулий квартал', 'p.year': 'Цей рік', 'p.custom': 'Свої дати',
      'applies': 'Період застосовується до дати, названої на картці показника: дата закриття (воронка, етапи, прогноз), зміна етапу (частка виграшів, програні угоди, конверсія) або дата взаємодії (активність, глибина контакту). Прострочені й завислі угоди, зведення менеджерів і клієнти під загрозою — станом на сьогодні, незалежно від періоду.',
      'on.close': 'Період: дата закриття', 'on.stage-change': 'Період: зміна етапу', 'on.today': 'Станом на сьогодні, незалежно від періоду',
      'on.lost': 'Період: коли програно чи завершено', 'on.ended': 'Завершені: у періоді; клієнти: зараз', 'on.activity': 'Період: дата взаємодії',
      'on.ladder': 'Переходи: у періоді; клієнти: зараз',
      'show-deals': 'Показати угоди', 'win-rate': 'Частка виграшів', 'overdue': 'Прострочені угоди', 'forecast': 'Прогноз за категоріями',
      'lost-reasons': 'Причини програшу', 'lifecycle': 'Фази стосунків', 'rep-summary': 'За менеджерами', 'conversion': 'Конверсія етапів',
      'close-date': 'Дата закриття', 'amount': 'Сума', 'depth': 'Глибина контакту', 'contacts-engaged': 'Контакти', 'held': 'Проведено',
      'next-touch': 'Наступний контакт', 'back': '← Усі менеджери', 'rep.pipeline': 'Воронка менеджера', 'rep.activity': 'Активність менеджера',
      'rep.planned': 'Заплановані взаємодії', 'rep.title': 'Менеджер: {rep}', 'reason.none': '(без причини)',
      'known': 'Період: як було відомо тоді і як відомо зараз',
      'known.text': 'Як було відомо на кінець періоду ({at}) і як відомо зараз. Різниця — це запізнілі зміни нижче: зроблені в періоді, але отримані сервером після його кінця.',
      'known.figure': 'Показник', 'known.then': 'Як було відомо тоді', 'known.now': 'Як відомо зараз', 'known.diff': 'Різниця',
      'known.weighted': 'Зважена воронка ({currency})', 'known.open': 'Відкриті угоди', 'known.won': 'Виграні угоди',
      'known.lost': 'Програні угоди', 'known.rate': 'Частка виграшів',
      'late': 'Запізнілі зміни', 'late.none': 'Запізнілих змін немає: показники цього періоду були повними на його кінець.',
      'late.count': { one: '{n} запізніла зміна', few: '{n} запізнілі зміни', many: '{n} запізнілих змін', other: '{n} запізнілої зміни' },
      'made': 'Зроблено', 'received': 'Отримано', 'late.hours': 'Запізнення', 'late.h': '{n} год',
      'won-delta': 'Зміна виграної суми', 'weighted-delta': 'Зміна зваженої воронки', 'old-new': 'Було → стало',
      'drill.download': 'Завантажити ці рядки:',
      'won.n': { one: '{n} виграна', few: '{n} виграні', many: '{n} виграних', other: '{n} виграної' },
      'lost.n': { one: '{n} програна', few: '{n} програні', many: '{n} програних', other: '{n} програної' },
      'deals': 'Угоди', 'share': 'Частка', 'none': 'Для цих фільтрів нічого немає.', 'category': 'Категорія', 'reason': 'Причина',
      'count': 'Кількість', 'reason.deal': 'Угоди', 'reason.ended': 'Завершені стосунки', 'phase': 'Фаза', 'ended': 'Завершено',
      'from-stage': 'З етапу', 'to-stage': 'На етап', 'moves': 'Переходи', 'rate': 'Частка', 'conversion.none': 'У періоді переходів між етапами немає.',
      'accounts-owned': 'Клієнти', 'open-deals': 'Відкриті угоди', 'planned-overdue': 'Заплановано: прострочено', 'planned-today': 'сьогодні',
      'planned-later': 'пізніше', 'rep': 'Менеджер', 'overdue.none': 'Прострочених угод немає.', 'deal': 'Угода', 'probability': 'Ймовірність',
      'next-step': 'Наступний крок', 'ended-on': 'Завершено', 'kind': 'Вид', 'due': 'Строк',
      'due.overdue': 'прострочено', 'due.today': 'сьогодні', 'due.later': 'пізніше',
      'drill.forecast': 'Угоди прогнозу: {name}', 'drill.lost': 'Програні угоди: {name}', 'drill.ended-reason': 'Завершені стосунки: {name}',
      'drill.phase': 'Клієнти у фазі: {name}', 'drill.ended-phase': 'Стосунки, завершені у фазі: {name}',
      'drill.moved': 'Угоди, що перейшли з «{from}» на «{to}»', 'drill.rep-open': 'Відкриті угоди: {rep}', 'drill.rung': 'Клієнти на щаблі: {name}',
      'drill.open': 'Відкриті угоди', 'drill.won': 'Виграні угоди', 'drill.lost-all': 'Програні угоди', 'drill.error': 'Не вдалося завантажити рядки: {message}',
      'reason.price': 'Ціна', 'reason.competitor': 'Конкурент', 'reason.no_budget': 'Немає бюджету', 'reason.no_decision': 'Немає рішення',
      'reason.timing': 'Невчасно', 'reason.product_fit': 'Не підходить продукт', 'reason.other': 'Інше', 'reason.moved_away': 'Переїхав',
      'reason.closed_business': 'Закрив бізнес', 'reason.switched_supplier': 'Змінив постачальника', 'reason.dissatisfied': 'Незадоволений',
      'reason.merged': 'Злиття',
      'phase.pre_relationship': 'До стосунків', 'phase.early': 'Початок', 'phase.development': 'Розвиток',
      'phase.long_term': 'Довготривалі', 'phase.final': 'Завершальна',
      'forecast.pipeline': 'Воронка', 'forecast.best_case': 'Найкращий випадок', 'forecast.commit': 'Зобов’язання', 'forecast.closed': 'Закрито',
    },
    ru: {
      'server.status': 'сервер ответил {status}',
      'period.range': '{from} – {to}', 'period.from': 'с {from}', 'period.to': 'до {to}',
      'drill.none': 'За этим показателем для этих фильтров ничего нет.',
      'f.all': 'Все', 'f.period': 'Период',
      'p.all': 'Всё время', 'p.week': 'Эта неделя', 'p.month': 'Этот месяц', 'p.quarter': 'Этот квартал',
      'p.last-quarter': 'Прошлый квартал', 'p.year': 'Этот год', 'p.custom': 'Свои даты',
      'applies': 'Период применяется к дате, названной на карточке показателя: дата закрытия (воронка, этапы, прогноз), смена этапа (доля выигрышей, проигранные сделки, конверсия) или дата взаимодействия (активность, глубина контакта). Просроченные и зависшие сделки, сводка менеджеров и клиенты под угрозой — на сегодня, независимо от периода.',
      'on.close': 'Период: дата закрытия', 'on.stage-change': 'Период: смена этапа', 'on.today': 'На сегодня, независимо от периода',
      'on.lost': 'Период: когда проиграно или завершено', 'on.ended': 'Завершённые: в периоде; клиенты: сейчас', 'on.activity': 'Период: дата взаимодействия',
      'on.ladder': 'Переходы: в периоде; клиенты: сейчас',
      'show-deals': 'Показать сделки', 'win-rate': 'Доля выигрышей', 'overdue': 'Просроченные сделки', 'forecast': 'Прогноз по категориям',
      'lost-reasons': 'Причины проигрыша', 'lifecycle': 'Фазы отношений', 'rep-summary': 'По менеджерам', 'conversion': 'Конверсия этапов',
      'close-date': 'Дата закрытия', 'amount': 'Сумма', 'depth': 'Глубина контакта', 'contacts-engaged': 'Контакты', 'held': 'Проведено',
      'next-touch': 'Следующий контакт', 'back': '← Все менеджеры', 'rep.pipeline': 'Воронка менеджера', 'rep.activity': 'Активность менеджера',
      'rep.planned': 'Запланированные взаимодействия', 'rep.title': 'Менеджер: {rep}', 'reason.none': '(без причины)',
      'known': 'Период: как было известно тогда и как известно сейчас',
      'known.text': 'Как было известно на конец периода ({at}) и как известно сейчас. Разница — это запоздавшие изменения ниже: сделанные в периоде, но полученные сервером после его конца.',
      'known.figure': 'Показатель', 'known.then': 'Как было известно тогда', 'known.now': 'Как известно сейчас', 'known.diff': 'Разница',
      'known.weighted': 'Взвешенная воронка ({currency})', 'known.open': 'Открытые сделки', 'known.won': 'Выигранные сделки',
      'known.lost': 'Проигранные сделки', 'known.rate': 'Доля выигрышей',
      'late': 'Запоздавшие изменения', 'late.none': 'Запоздавших изменений нет: показатели этого периода были полными на его конец.',
      'late.count': { one: '{n} запоздавшее изменение', few: '{n} запоздавших изменения', many: '{n} запоздавших изменений', other: '{n} запоздавшего изменения' },
      'made': 'Сделано', 'received': 'Получено', 'late.hours': 'Опоздание', 'late.h': '{n} ч',
      'won-delta': 'Изменение выигранной суммы', 'weighted-delta': 'Изменение взвешенной воронки', 'old-new': 'Было → стало',
      'drill.download': 'Скачать эти строки:',
      'won.n': { one: '{n} выиграна', few: '{n} выиграны', many: '{n} выиграно', other: '{n} выиграно' },
      'lost.n': { one: '{n} проиграна', few: '{n} проиграны', many: '{n} проиграно', other: '{n} проиграно' },
      'deals': 'Сделки', 'share': 'Доля', 'none': 'Для этих фильтров ничего нет.', 'category': 'Категория', 'reason': 'Причина',
      'count': 'Количество', 'reason.deal': 'Сделки', 'reason.ended': 'Завершённые отношения', 'phase': 'Фаза', 'ended': 'Завершено',
      'from-stage': 'С этапа', 'to-stage': 'На этап', 'moves': 'Переходы', 'rate': 'Доля', 'conversion.none': 'В периоде переходов между этапами нет.',
      'accounts-owned': 'Клиенты', 'open-deals': 'Открытые сделки', 'planned-overdue': 'Запланировано: просрочено', 'planned-today': 'сегодня',
      'planned-later': 'позже', 'rep': 'Менеджер', 'overdue.none': 'Просроченных сделок нет.', 'deal': 'Сделка', 'probability': 'Вероятность',
      'next-step': 'Следующий шаг', 'ended-on': 'Завершено', 'kind': 'Вид', 'due': 'Срок',
      'due.overdue': 'просрочено', 'due.today': 'сегодня', 'due.later': 'позже',
      'drill.forecast': 'Сделки прогноза: {name}', 'drill.lost': 'Проигранные сделки: {name}', 'drill.ended-reason': 'Завершённые отношения: {name}',
      'drill.phase': 'Клиенты в фазе: {name}', 'drill.ended-phase': 'Отношения, завершённые в фазе: {name}',
      'drill.moved': 'Сделки, перешедшие с «{from}» на «{to}»', 'drill.rep-open': 'Открытые сделки: {rep}', 'drill.rung': 'Клиенты на ступени: {name}',
      'drill.open': 'Открытые сделки', 'drill.won': 'Выигранные сделки', 'drill.lost-all': 'Проигранные сделки', 'drill.error': 'Не удалось загрузить строки: {message}',
      'reason.price': 'Цена', 'reason.competitor': 'Конкурент', 'reason.no_budget': 'Нет бюджета', 'reason.no_decision': 'Нет решения',
      'reason.timing': 'Не вовремя', 'reason.product_fit': 'Не подходит продукт', 'reason.other': 'Другое', 'reason.moved_away': 'Переехал',
      'reason.closed_business': 'Закрыл бизнес', 'reason.switched_supplier': 'Сменил поставщика', 'reason.dissatisfied': 'Недоволен',
      'reason.merged': 'Слияние',
      'phase.pre_relationship': 'До отношений', 'phase.early': 'Начало', 'phase.development': 'Развитие',
      'phase.long_term': 'Долгосрочные', 'phase.final': 'Завершающая',
      'forecast.pipeline': 'Воронка', 'forecast.best_case': 'Лучший случай', 'forecast.commit': 'Обязательство', 'forecast.closed': 'Закрыто',
    },
  };
  for (const l of LANGS) Object.assign(MESSAGES[l], MORE[l]);

  function pick() {
    const asked = new URLSearchParams(location.search).get('lang');
    if (LANGS.includes(asked)) return asked;
    const saved = localStorage.getItem(LANG_KEY);
    if (LANGS.includes(saved)) return saved;
    for (const l of navigator.languages || [navigator.language || 'en']) {
      const base = String(l).toLowerCase().split('-')[0];
      if (LANGS.includes(base)) return base;
    }
    return 'en';
  }

  let lang = pick();

  // Numbers are written in the language's format (1 234,5 in Ukrainian).
  function fill(text, vars) {
    return text.replace(/\{(\w+)\}/g, (m, k) => {
      if (!vars || !(k in vars)) return m;
      return typeof vars[k] === 'number' ? number(vars[k]) : String(vars[k]);
    });
  }

  // The message `key` in the current language (English if missing), with
  // {vars} filled in; a plural message picks its form by vars.n.
  function t(key, vars) {
    let m = MESSAGES[lang][key];
    if (m === undefined) m = MESSAGES.en[key];
    if (m === undefined) return key;
    if (typeof m === 'object') {
      const form = new Intl.PluralRules(lang).select(Number(vars && vars.n) || 0);
      m = m[form] || m.other;
    }
    return fill(m, vars);
  }

  // A name from a catalogue (stage, rung, kind): translated when the
  // language knows it, else the settings' name or the id itself.
  function name(kind, id, fallback) {
    const m = MESSAGES[lang][kind + '.' + id];
    return m === undefined ? (fallback || id) : m;
  }

  // Words of the static page: data-i18n (text), data-i18n-aria (aria-label).
  function translatePage() {
    document.documentElement.lang = lang;
    document.title = t('title');
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-aria]')) node.setAttribute('aria-label', t(node.dataset.i18nAria));
  }

  function set(next) {
    if (!LANGS.includes(next)) return;
    lang = next;
    localStorage.setItem(LANG_KEY, next);
    const url = new URL(location.href);
    url.searchParams.set('lang', next);
    history.replaceState(null, '', url);
    translatePage();
  }

  const numberFormats = new Map();
  function number(n) {
    if (!numberFormats.has(lang)) numberFormats.set(lang, new Intl.NumberFormat(lang));
    return numberFormats.get(lang).format(n);
  }

  function money(minor, currency) {
    const n = Number(minor || 0) / 100;
    try {
      return new Intl.NumberFormat(lang, { style: 'currency', currency, currencyDisplay: 'narrowSymbol' }).format(n);
    } catch (_) {
      return number(n) + ' ' + currency;
    }
  }

  // A day as the language writes it in full ("4 грудня 2026 р.").
  function date(ms) {
    return new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(ms));
  }

  function percent(x) {
    return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(Number(x));
  }

  function dateTime(ms) {
    return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
  }

  window.RapportI18n = {
    LANGS, MESSAGES, t, name, set, translatePage, number, money, date, dateTime, percent,
    get lang() { return lang; },
  };
})();
