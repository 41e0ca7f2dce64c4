from .frozen_teacher import (FrozenTeacher, TeacherCheckpointError,
                             TeacherFeatures)

__all__ = ['FrozenTeacher', 'TeacherCheckpointError', 'TeacherFeatures']
