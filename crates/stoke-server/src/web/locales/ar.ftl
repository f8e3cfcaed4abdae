# كلمات لوحة التحكم بالعربية. كل رسالة هنا موجودة في en.ftl و ru.ftl أيضًا.

app-name = ستوك
nav-today = اليوم
nav-inbox = صندوق الوارد
nav-segments = الشرائح
nav-broadcasts = الحملات
nav-logout = تسجيل الخروج
nav-language = اللغة
nav-signed-in = مسجّل باسم { $name } ({ $role })
role-admin = مدير النظام
role-manager = مشرف
role-agent = مندوب

login-title = تسجيل الدخول إلى ستوك
login-email = البريد الإلكتروني
login-password = كلمة المرور
login-submit = دخول
login-wrong = البريد الإلكتروني أو كلمة المرور غير صحيحة.
login-throttled = محاولات كثيرة. حاول مجددًا بعد { $seconds } ثانية.
login-missing = أدخل البريد الإلكتروني الذي تسجّل به الدخول.

today-title = اليوم
today-count = { $count ->
    [0] لا شيء مستحق
    [zero] لا شيء مستحق
    [one] عميل واحد للتواصل معه
    [two] عميلان للتواصل معهما
    [few] { $n } عملاء للتواصل معهم
    [many] { $n } عميلًا للتواصل معهم
   *[other] { $n } عميل للتواصل معهم
}
today-empty = قائمتك فارغة: تم الرد على كل العملاء.
today-due = الموعد
today-overdue = متأخر
today-why = السبب
today-open = فتح المحادثة
today-for = قائمة
today-show = عرض
today-local = بتوقيته

inbox-title = صندوق الوارد
inbox-search = ابحث في كل المحادثات
inbox-account = الحساب
inbox-tag = الوسم
inbox-tier = النشاط
inbox-assignee = المسؤول
inbox-any = الكل
inbox-unassigned = غير مسند
inbox-filter = تصفية
inbox-empty = لا توجد محادثة مطابقة.
inbox-older = محادثات أقدم
inbox-you = أنت:
inbox-results = { $count ->
    [0] لا توجد رسالة بهذه الكلمات
    [zero] لا توجد رسالة بهذه الكلمات
    [one] رسالة واحدة بهذه الكلمات
    [two] رسالتان بهذه الكلمات
    [few] { $n } رسائل بهذه الكلمات
    [many] { $n } رسالة بهذه الكلمات
   *[other] { $n } رسالة بهذه الكلمات
}
inbox-contacts-found = العملاء

conv-reply = الرد
conv-send = إرسال
conv-through = عبر
conv-queued = ردّك في قائمة الإرسال ويخرج عبر { $account }.
conv-empty-reply = اكتب الرد أولًا.
conv-too-long = الرد لا يتجاوز { $max } حرفًا.
conv-no-account = لا يوجد حساب للرد من خلاله.
conv-card = بطاقة العميل
conv-no-messages = لا توجد رسائل بعد.
status-queued = في الانتظار
status-sent = أُرسلت
status-delivered = وصلت
status-read = قُرئت
status-failed = فشلت
status-received = مستلمة

card-profile = الملف
card-phones = الهواتف
card-emails = البريد الإلكتروني
card-language = اللغة
card-timezone = المنطقة الزمنية
card-country = الدولة
card-owner = المسؤول
card-nobody = لا أحد
card-preferences = التفضيلات
card-consent = الموافقة
card-orders = الطلبات
card-notes = الملاحظات
card-add-note = أضف ملاحظة
card-note-saved = حُفظت الملاحظة.
card-note-empty = اكتب الملاحظة أولًا.
card-tasks = المهام
card-done = منجزة
card-tags = الوسوم
card-rule = القاعدة
card-evidence = السبب
card-history = التغييرات
card-set = أُضيف
card-removed = أُزيل
card-none = لا شيء بعد.
card-message = الرسالة
card-lead-score = تقييم العميل المحتمل

family-activity = النشاط
family-intent = نية الشراء
family-interest = الاهتمام
family-preference = التفضيل
family-lifecycle = دورة الحياة
family-temperature = حرارة العميل
family-sentiment = المشاعر
family-stage = مرحلة البيع
family-static = تصنيف

seg-title = الشرائح
seg-distribution = العملاء حسب الوسم
seg-warnings = الفحص الأسبوعي
seg-healthy = القاعدة سليمة: عدد كافٍ من العملاء نشط جدًا.
seg-low-high = فقط { $share }٪ من العملاء نشطون جدًا (ردّوا خلال 24 ساعة)، أقل من { $min }٪: عزّز الاستقطاب وإعادة التنشيط.
seg-expression = تعبير الشريحة
seg-hint = مثال: intent:high and interest:discount and active_within:7d and not opted_out
seg-count = { $count } من { $of } عميل
seg-matching = العملاء المطابقون
seg-invalid = لا يمكن قراءة هذا التعبير: { $problem }
seg-admins = الشرائح تشمل مساحة العمل كلها: اطلبها من مدير النظام.

bc-title = الحملات
bc-new = حملة جديدة
bc-name = الاسم
bc-audience = الجمهور (تعبير شريحة)
bc-template = القالب
bc-account = الحساب
bc-start = ابدأ الإرسال الآن
bc-create = إنشاء
bc-created = أُنشئت الحملة.
bc-status = الحالة
bc-recipients = المستلمون
bc-progress = التقدم
bc-none = لا توجد حملات بعد.
bc-pause = إيقاف مؤقت
bc-resume = استئناف
bc-cancel = إلغاء
count-queued = في الانتظار
count-sent = أُرسلت
count-delivered = وصلت
count-read = قُرئت
count-failed = فشلت
count-skipped = تُخطّيت

error-title = حدث خطأ
error-not-found = لا يوجد شيء هنا، أو ليس من صلاحيتك رؤيته.
error-forbidden = هذه الصفحة لمديري النظام.
error-back = العودة إلى اليوم

action-quote = أرسل عرض سعر
action-follow-up = متابعة
action-content = أرسل شيئًا مفيدًا
action-greeting = تهنئة
action-broadcast-only = الحملات فقط
action-none = لا شيء
tier-high = نشط جدًا
tier-medium = نشط
tier-low = يفتر
tier-dormant = خامل
pref-channel = القناة
pref-window = أفضل وقت
pref-format = الصيغة
pref-max-per-week = الحد الأقصى أسبوعيًا
bcs-draft = مسودة
bcs-running = قيد الإرسال
bcs-paused = متوقفة مؤقتًا
bcs-completed = اكتملت
bcs-cancelled = أُلغيت
