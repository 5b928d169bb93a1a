"""What each output column of the analytic views holds, for the column schema the Dagster UI shows.

`COLUMN_DESCRIPTIONS` describes the names that mean the same in every view that has them; `VIEW_COLUMN_NOTES`
describes, per view, the columns whose meaning is that view's own: names no other view uses, and shared names
computed differently there (`total_sessions`, for one, is a different count in each of its three views).
`View.column_descriptions()` (view.py) takes a view's note first, then the glossary. Timestamps are UTC
instants; "events" are rows of the cleaned tables, so duplicates of one event_id never count twice.
"""

from __future__ import annotations

from pipeline.events.catalogue import CATEGORY_BY_NAME


def _one_of(category: str, field: str) -> str:
    return ", ".join(CATEGORY_BY_NAME[category].field_by_name[field].allowed)


COLUMN_DESCRIPTIONS: dict[str, str] = {
    "date": "UTC day of the counted events (event_time's date); date-keyed views are partitioned by it.",
    "user_id": "The user the row is about: user_id of the counted events.",
    "student_id": "The student: user_id of their own events, of which only those with role student count.",
    "course_id": "The course (course_id of the counted events).",
    "video_id": "The video (video_id of the VIDEO_WATCHED events).",
    "role": "The events' role: student or teacher, 'unknown' when the event carried none.",
    "event_type": "Event type of the counted events, within the view's category (e.g. COURSE_ENROLLED).",
    "notification_type": f"Notification type: {_one_of('notification', 'notification_type')}.",
    "unique_users": "Distinct users (user_id) among the row's events.",
    "event_count": "Number of the row's events.",
    "total_logins": "Number of the user's LOGIN events; 0 if none.",
    "total_assignments_graded": "Number of GRADE_ASSIGNMENT events (a regrade counts again).",
    "avg_assignment_score": "Mean score (points, 0-100) of the teachers' GRADE_ASSIGNMENT events whose student_id is "
                            "the row's student; null when never graded.",
    "total_watch_seconds": "Sum of watch_duration_seconds of the VIDEO_WATCHED events, in seconds.",
    "total_watch_hours": "total_watch_seconds / 3600, in hours (fractional).",
    "avg_watch_duration_seconds": "Mean watch_duration_seconds per VIDEO_WATCHED event, in seconds.",
    "unique_videos_watched": "Distinct video_ids watched.",
    "unique_viewers": "Distinct users who watched the video.",
    "total_videos_in_course": "Distinct video_ids anyone watched in the course, all time (there is no video "
                              "catalogue).",
    "total_videos_watched": "Number of VIDEO_WATCHED events by students (role student) of the row's course and/or "
                            "student, all time: events, not distinct videos; 0 if none.",
    "total_material_accesses": "Number of ACCESS_COURSE_MATERIAL events; 0 if none.",
    "total_downloads": "Number of DOWNLOAD_MATERIAL events; 0 if none.",
    "total_sent": "Number of NOTIFICATION_SENT events.",
    "total_clicked": "How many of the sent notifications their recipient clicked: NOTIFICATION_SENT events with a "
                     "NOTIFICATION_CLICKED of the same user_id and notification_id at or after them.",
}

_SESSION = "from a LOGIN to the earliest LOGOUT of the same session_id at or after it"
_SUBMIT_HOURS = ("hours (fractional, never negative) from the first view of an assignment to the first submission at "
                 "or after it")
_CORRECT = "correct_answers (a count of answers, not a percentage: quiz lengths are unknown)"
_MATCHED_SHARE = "x 100: percent 0-100 as decimal(5,2), rounded to 2 decimals"

VIEW_COLUMN_NOTES: dict[str, dict[str, str]] = {
    "auth_daily_active_users": {
        "daily_active_users": "Distinct users with a LOGIN event that day.",
        "total_sessions": "Distinct session_ids among that day's LOGIN events.",
    },
    "auth_hourly_login_patterns": {
        "hour": "Hour of the day of the logins, 0-23, UTC.",
        "login_count": "Number of LOGIN events in that hour.",
    },
    "auth_user_session_metrics": {
        "total_sessions": "Completed sessions: the user's LOGIN events that have a LOGOUT of the same session_id "
                          "at or after them.",
        "avg_session_duration_minutes": f"Mean session length in minutes, {_SESSION}.",
        "min_session_duration_minutes": f"Shortest session length in minutes, {_SESSION}.",
        "max_session_duration_minutes": f"Longest session length in minutes, {_SESSION}.",
        "total_time_online_minutes": "Sum of the user's session lengths, in minutes.",
    },
    "auth_user_activity_summary": {
        "total_logouts": "Number of the user's LOGOUT events with this role.",
        "first_activity": "Time of the user's first auth event (LOGIN, LOGOUT or SIGNUP) with this role.",
        "last_activity": "Time of the user's last auth event with this role.",
        "unique_sessions": "Distinct session_ids among the user's LOGIN and LOGOUT events with this role.",
    },
    "auth_registration_analytics": {
        "registration_source": f"Where the user signed up (SIGNUP's registration_source): "
                               f"{_one_of('auth', 'registration_source')}.",
        "new_signups": "Number of SIGNUP events.",
    },
    "assessment_student_submissions": {
        "total_assignments_submitted": "Distinct assignment_ids the student submitted in the course.",
        "total_submissions": "Number of SUBMIT_ASSIGNMENT events, resubmissions included.",
        "first_submission": "Time of the student's first SUBMIT_ASSIGNMENT in the course.",
        "last_submission": "Time of the student's last SUBMIT_ASSIGNMENT in the course.",
    },
    "assessment_engagement_timeline": {
        "course_id": "The course of the student's earliest VIEW_ASSIGNMENT_FIRST_TIME event of each assignment.",
        "assignments_completed": "Assignments submitted at or after the student's first view of them.",
        "avg_hours_to_submit": f"Mean {_SUBMIT_HOURS}.",
        "min_hours_to_submit": f"Smallest {_SUBMIT_HOURS}.",
        "max_hours_to_submit": f"Largest {_SUBMIT_HOURS}.",
    },
    "assessment_quiz_performance": {
        "total_quizzes_completed": "Number of QUIZ_COMPLETED events (a retaken quiz counts again).",
        "avg_correct_answers": f"Mean {_CORRECT} per completed quiz.",
        "total_correct_answers": f"Sum of {_CORRECT}.",
        "min_correct_answers": f"Smallest {_CORRECT}.",
        "max_correct_answers": f"Largest {_CORRECT}.",
    },
    "assessment_grading_stats": {
        "student_id": "The graded student: student_id of the teachers' GRADE_ASSIGNMENT events.",
        "min_assignment_score": "Lowest score (points, 0-100) of the GRADE_ASSIGNMENT events about the student.",
        "max_assignment_score": "Highest score (points, 0-100) of the GRADE_ASSIGNMENT events about the student.",
        "total_assignment_score": "Sum of the scores of the GRADE_ASSIGNMENT events about the student, in points.",
    },
    "assessment_teacher_workload": {
        "user_id": "The teacher: user_id of the VIEW_STUDENT_WORK and GRADE_ASSIGNMENT events.",
        "total_works_viewed": "Number of the teacher's VIEW_STUDENT_WORK events in the course; null when they only "
                              "graded there.",
        "total_assignments_graded": "Number of the teacher's GRADE_ASSIGNMENT events in the course; null when they "
                                    "only viewed work there.",
        "avg_score_given": "Mean score (points, 0-100) the teacher gave in the course; null when they graded none.",
    },
    "assessment_submission_distribution": {
        "assignment_type": f"Type of the submitted assignment ({_one_of('assessment', 'assignment_type')}), from the "
                           f"earliest VIEW_ASSIGNMENT_FIRST_TIME of its assignment_id by any student on any day; "
                           f"'unknown' when it was never viewed.",
        "submissions_count": "Number of SUBMIT_ASSIGNMENT events.",
        "unique_students": "Distinct students (user_id) who submitted.",
    },
    "assessment_student_overall_performance": {
        "user_id": "The student: user_id of their QUIZ_COMPLETED events, student_id of the GRADE_ASSIGNMENT events "
                   "about them.",
        "quizzes_completed": "Number of QUIZ_COMPLETED events; null when the student has grades but no quizzes "
                             "in the course.",
        "avg_quiz_correct": f"Mean {_CORRECT} per completed quiz; null when there are none.",
        "assignments_graded": "Number of GRADE_ASSIGNMENT events about the student in the course; null when never "
                              "graded there.",
    },
    "video_total_watch_time": {
        "total_watch_sessions": "Number of VIDEO_WATCHED events with a session_id (all of them: it is required); "
                                "not distinct sessions.",
        "longest_session_seconds": "Largest watch_duration_seconds of one VIDEO_WATCHED event, in seconds.",
        "shortest_session_seconds": "Smallest watch_duration_seconds of one VIDEO_WATCHED event, in seconds.",
        "total_watch_minutes": "total_watch_seconds / 60, in minutes (fractional).",
    },
    "video_student_engagement": {
        "total_video_events": "Number of VIDEO_WATCHED events.",
    },
    "video_popularity": {
        "total_views_seconds": "Sum of watch_duration_seconds of the video's VIDEO_WATCHED events, in seconds.",
        "total_view_events": "Number of the video's VIDEO_WATCHED events.",
        "avg_view_duration_seconds": "Mean watch_duration_seconds per VIDEO_WATCHED event, in seconds.",
        "total_views_hours": "total_views_seconds / 3600, in hours (fractional).",
    },
    "video_daily_engagement": {
        "active_video_watchers": "Distinct users who watched a video of the course that day.",
        "total_watch_events": "Number of VIDEO_WATCHED events.",
    },
    "video_course_metrics": {
        "total_students_watching": "Distinct users who watched a video of the course.",
        "total_course_watch_seconds": "Sum of watch_duration_seconds of the course's VIDEO_WATCHED events, in seconds.",
        "total_course_watch_hours": "total_course_watch_seconds / 3600, in hours (fractional).",
    },
    "video_student_course_summary": {
        "videos_watched_count": "Distinct video_ids the student watched in the course.",
        "total_sessions": "Number of the student's VIDEO_WATCHED events in the course with a session_id (all of "
                          "them: it is required); not distinct sessions.",
        "video_coverage_percentage": "videos_watched_count / total_videos_in_course x 100: percent 0-100 as "
                                     "decimal(5,2), rounded half-up.",
    },
    "video_drop_off_indicators": {
        "total_views": "Number of the video's VIDEO_WATCHED events.",
        "avg_watch_duration": "Mean watch_duration_seconds per VIDEO_WATCHED event, in seconds.",
        "min_watch_duration": "Smallest watch_duration_seconds of one VIDEO_WATCHED event, in seconds.",
        "potential_drop_off": "'High Risk' when avg_watch_duration is under 60 s, 'Medium Risk' under 180 s, else "
                              "'Good Engagement'.",
    },
    "course_enrollment_stats": {
        "new_enrollments": "Number of COURSE_ENROLLED events.",
        "unique_new_students": "Distinct users among them (a repeated enrolment counts once).",
    },
    "course_material_access": {
        "unique_materials_accessed": "Distinct material_ids the user accessed in the course.",
        "first_access": "Time of the user's first ACCESS_COURSE_MATERIAL event in the course.",
        "last_access": "Time of the user's last ACCESS_COURSE_MATERIAL event in the course.",
    },
    "course_material_popularity": {
        "material_id": "The material (material_id of the ACCESS_COURSE_MATERIAL events).",
        "material_type": f"The material's type as the access event gave it: {_one_of('course', 'material_type')}.",
        "unique_accessors": "Distinct users who accessed the material.",
        "total_accesses": "Number of ACCESS_COURSE_MATERIAL events of the material.",
    },
    "course_download_analytics": {
        "unique_resources_downloaded": "Distinct material_ids (resources) the user downloaded in the course.",
    },
    "course_resource_download_stats": {
        "resource_id": "The downloaded resource: the DOWNLOAD_MATERIAL event's material_id.",
        "unique_downloaders": "Distinct users who downloaded the resource.",
        "total_download_count": "Number of DOWNLOAD_MATERIAL events of the resource.",
    },
    "course_activity_summary": {
        "courses_enrolled": "Distinct courses the user has COURSE_ENROLLED events in; 0 if none.",
        "courses_with_material_access": "Distinct courses the user has ACCESS_COURSE_MATERIAL events in; 0 if none.",
    },
    "course_overall_metrics": {
        "total_enrollments": "Number of COURSE_ENROLLED events (a repeated enrolment counts again); 0 if none.",
        "unique_students_interacting": "Distinct users with role student who have any COURSE event in the course "
                                       "(teachers are not counted).",
    },
    "profile_update_frequency": {
        "total_profile_updates": "Number of the user's UPDATE_PROFILE events.",
        "first_update": "Time of the user's first UPDATE_PROFILE event.",
        "last_update": "Time of the user's last UPDATE_PROFILE event.",
    },
    "profile_field_changes": {
        "field_name": "A profile field listed in updated_fields of UPDATE_PROFILE events (e.g. email).",
        "total_updates": "Number of UPDATE_PROFILE events listing the field (once per event, even if listed twice).",
        "unique_users_updating": "Distinct users who updated the field.",
    },
    "profile_avatar_changes": {
        "avatar_changes_count": "Number of the user's PROFILE_PICTURE_UPDATED events.",
        "first_change": "Time of the user's first PROFILE_PICTURE_UPDATED event.",
        "last_change": "Time of the user's last PROFILE_PICTURE_UPDATED event.",
    },
    "notification_delivery_stats": {
        "unique_recipients": "Distinct users who were sent a notification of the type.",
    },
    "notification_engagement": {
        "notifications_clicked": "Number of NOTIFICATION_CLICKED events: every click, repeated ones and ones without "
                                 "a matching send included.",
    },
    "notification_click_through_rate": {
        "click_through_rate": f"total_clicked / total_sent {_MATCHED_SHARE}.",
    },
    "notification_user_preferences": {
        "notifications_received": "Number of NOTIFICATION_SENT events to the user of the type.",
        "notifications_clicked": "How many of those the user clicked: a NOTIFICATION_CLICKED of the same "
                                 "notification_id at or after the send.",
        "engagement_rate": f"notifications_clicked / notifications_received {_MATCHED_SHARE}.",
    },
    "notification_daily_activity": {
        "event_count": "Number of the row's events with a notification_id (all of them: it is required).",
    },
    "notification_user_summary": {
        "total_received": "Number of NOTIFICATION_SENT events to the user; 0 if they only clicked.",
        "overall_engagement_rate": f"total_clicked / total_received {_MATCHED_SHARE}; null when nothing was "
                                   f"received.",
    },
    "course_overview": {
        "total_enrolled_students": "Distinct students (role student) with a COURSE_ENROLLED event in the course.",
        "total_materials_downloaded": "Number of students' DOWNLOAD_MATERIAL events (role student) in the course; "
                                      "0 if none.",
    },
    "student_overview": {
        "total_courses_enrolled": "Distinct courses the student has COURSE_ENROLLED events in.",
        "total_assignments_submitted": "Number of the student's SUBMIT_ASSIGNMENT events (a resubmission counts "
                                       "again); 0 if none.",
        "avg_assignment_score": "Mean score (points, 0-100) of the teachers' GRADE_ASSIGNMENT events whose "
                                "student_id is the student, over all courses; null when never graded.",
    },
    "student_course_enrollment": {
        "enrollment_date": "Time of the COURSE_ENROLLED event (a timestamp, not a day).",
    },
    "student_course_detailed": {
        "videos_watched": "Number of the student's VIDEO_WATCHED events in the course (events, not distinct videos).",
        "materials_downloaded": "Number of the student's DOWNLOAD_MATERIAL events in the course; 0 if none.",
        "last_activity_date": "Time of the student's latest COURSE event in the course (a timestamp; videos do not "
                              "count); null if none.",
        "watch_time_minutes": "Sum of watch_duration_seconds of those VIDEO_WATCHED events / 60, in minutes "
                              "(fractional).",
    },
}
